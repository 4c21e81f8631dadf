"""`reports`: the command line. A thin shell: parse, call one library function, format."""

from __future__ import annotations

import functools
import html
import json
import re
import sys
import time
from pathlib import Path

import click

from .errors import SearchError
from .settings import Settings

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _common(f):
    """--index, --reports and --gazetteer on every command."""
    @click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Index folder [default: index/ or $REPORTS_INDEX].")
    @click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Reports folder [default: seeds/ or $REPORTS_DIR].")
    @click.option("--gazetteer", "gazetteer_paths", multiple=True,
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="Extra gazetteer file (TOML) merged over the bundled one; repeatable.")
    @functools.wraps(f)
    def wrapper(*args, index_dir=None, reports_dir=None, gazetteer_paths=(), **kwargs):
        settings = Settings.from_env(index_dir=index_dir, reports_dir=reports_dir,
                                     gazetteer_paths=gazetteer_paths or None)
        try:
            return f(settings, *args, **kwargs)
        except SearchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
    return wrapper


def _engine(settings: Settings):
    from .engine import Engine

    return Engine.from_settings(settings)


def _ensure_index(engine, quiet: bool = False) -> None:
    """First run: build the index from the reports folder, saying so."""
    root = engine.store.root
    if not root.joinpath("CURRENT").exists() and not any(root.glob("gen-*")):
        click.echo(f"No index in {engine.settings.index_dir}/ yet: building it from the reports "
                   f"in {engine.settings.reports_dir}/ …", err=True)
        summary = engine.update()
        click.echo(_summary_line(summary), err=True)


def _summary_line(s) -> str:
    if not s.changed:
        return (f"No changes: {s.unchanged} reports already indexed, nothing written "
                f"({len(s.skipped)} skipped, {s.seconds:.2f} s).")
    verb = "Rebuilt" if s.rebuilt else "Updated"
    return (f"{verb} index: {s.added} added, {s.updated} updated, {s.removed} removed, "
            f"{len(s.skipped)} skipped in {s.seconds:.2f} s.")


def _terminal(html_text: str, colour: bool) -> str:
    """Snippet HTML -> terminal text: marks in bold yellow on a terminal, plain when piped."""
    if colour:
        html_text = _MARK.sub(lambda m: click.style(html.unescape(m[1]), fg="yellow", bold=True)
                              .replace("<", "\x00"), html_text)
    text = _TAG.sub("", html_text).replace("\x00", "<")
    return html.unescape(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="conflict-reports-search", prog_name="reports")
def main():
    """Search conflict reports: index a folder of reports, then search them.

    \b
    reports index                     build or update the index from seeds/
    reports search "Hajin offensive"  ranked results with highlights
    reports serve                     the web page on http://127.0.0.1:8000
    """


@main.command()
@_common
@click.option("--rebuild", is_flag=True, help="Build a complete new index and switch to it atomically.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def index(settings, rebuild, as_json, quiet):
    """Build or update the index from the reports folder (only changes are applied)."""
    engine = _engine(settings)
    bar = None
    started = time.monotonic()

    def progress(done, total):
        nonlocal bar
        if quiet or as_json or total < 200:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Indexing", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        summary = engine.update(rebuild=rebuild, progress=progress)
    except OSError as exc:
        from .index import describe_error

        raise SearchError(describe_error(exc))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    for s in summary.skipped[:20]:
        click.echo(f"skipped {s.path}: {s.reason}", err=True)
    if len(summary.skipped) > 20:
        click.echo(f"… and {len(summary.skipped) - 20} more skipped", err=True)
    click.echo(_summary_line(summary))
    _ = started


@main.command()
@_common
@click.argument("query", nargs=-1)
@click.option("--actor", multiple=True, help="Filter by actor (any alias); repeat for OR.")
@click.option("--place", multiple=True, help="Filter by place (any alias); repeat for OR.")
@click.option("--operation", multiple=True, help="Filter by operation (any alias).")
@click.option("--source", multiple=True, help="Filter by source.")
@click.option("--year", multiple=True, help="Filter by year.")
@click.option("--page", default=1, show_default=True, type=int)
@click.option("--size", "page_size", default=10, show_default=True, type=int, help="Results per page.")
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance",
              show_default=True)
@click.option("--exact", is_flag=True, help="No alias expansion: only the spellings typed.")
@click.option("--facets", "facet_size", default=5, show_default=True, type=int,
              help="Facet values shown per facet (0 for none).")
@click.option("--json", "as_json", is_flag=True, help="Print the result object as JSON.")
def search(settings, query, actor, place, operation, source, year, page, page_size, sort,
           exact, facet_size, as_json):
    """Search the index. QUERY syntax: words, "phrases", -exclude, OR, actor:X place:X
    operation:X source:X title:X date:2018-07..2018-08, prefix*."""
    from .results import SearchRequest

    engine = _engine(settings)
    _ensure_index(engine)
    filters = {k: list(v) for k, v in (("actors", actor), ("places", place),
               ("operations", operation), ("source", source), ("year", year)) if v}
    request = SearchRequest(q=" ".join(query), filters=filters, page=page, page_size=page_size,
                            sort=sort, exact=exact, facet_size=max(facet_size, 1))
    result = engine.search(request)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    colour = sys.stdout.isatty()
    for notice in result.notices:
        click.echo(f"note: {notice}", err=True)
    for e in result.expansions:
        click.echo(f"note: {e.text} → {e.label} (all its names)", err=True)
    first = (result.page - 1) * result.page_size + 1
    shown = f"{first}-{first + len(result.hits) - 1} of " if result.hits else ""
    click.echo(f"{shown}{result.total} report{'s' if result.total != 1 else ''} "
               f"({result.took_ms:.0f} ms)")
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    for n, hit in enumerate(result.hits, start=first):
        meta = " · ".join(x for x in (hit.date, hit.source) if x)
        click.echo("")
        click.echo(f"{n}. " + _terminal(hit.title_html, colour))
        click.echo(f"   {hit.id}" + (f"  ({meta})" if meta else ""))
        click.echo("   " + _terminal(hit.snippet, colour))
        for why in hit.why:
            click.echo(f"   matched: {why}")
    if facet_size > 0 and result.total:
        click.echo("")
        for name, values in result.facets.items():
            if values:
                shown_values = ", ".join(f"{'*' if v.selected else ''}{v.label} ({v.count})"
                                         for v in values[:facet_size])
                click.echo(f"{name}: {shown_values}")


@main.command()
@_common
@click.argument("report_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--highlight", "q", default="", help="Mark these query words in the text.")
def show(settings, report_id, as_json, q):
    """Show one report: metadata, entities and full text."""
    engine = _engine(settings)
    _ensure_index(engine)
    view = engine.report(report_id, q=q)
    if as_json:
        click.echo(json.dumps(view.as_dict(), indent=2, ensure_ascii=False))
        return
    colour = sys.stdout.isatty()

    def seg_text(segments):
        out = []
        for s in segments:
            t = s.text
            if colour and s.mark:
                t = click.style(t, fg="yellow", bold=True)
            elif colour and s.kind:
                t = click.style(t, underline=True)
            out.append(t)
        return "".join(out)

    click.echo(seg_text(view.title_segments))
    click.echo("=" * min(len(view.title), 80))
    for label, value in (("id", view.id), ("date", view.date), ("source", view.source),
                         ("url", view.url)):
        if value:
            click.echo(f"{label}: {value}")
    for kind in ("actors", "places", "operations"):
        refs = getattr(view, kind)
        if refs:
            click.echo(f"{kind}: " + ", ".join(r.label for r in refs))
    for p in view.paragraphs:
        click.echo("")
        click.echo(seg_text(p))
    if view.related:
        click.echo("")
        click.echo("Related: " + "; ".join(f"{r['id']}" for r in view.related))


@main.command(name="import")
@_common
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "jsonl"]), help="Default: from the file name.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Column for a report field (id, title, lede, body, date, source, url).")
@click.option("--name", help="Archive name [default: the file name].")
@click.option("--date-format", help="strptime format of the date column, e.g. %d/%m/%Y.")
@click.option("--no-index", is_flag=True, help="Only write the archive; do not update the index.")
@click.option("--json", "as_json", is_flag=True)
def import_(settings, file, fmt, mapping, name, date_format, no_index, as_json):
    """Import a CSV or JSONL export into the reports folder, then update the index."""
    from .importer import import_table, parse_mapping

    summary = import_table(file, settings.reports_dir, fmt=fmt, mapping=parse_mapping(mapping),
                           name=name, date_format=date_format)
    out = summary.as_dict()
    if not as_json:
        cols = ", ".join(f"{k}←{v}" for k, v in summary.mapping.items())
        click.echo(f"Imported {summary.written} reports into {summary.archive} ({cols}); "
                   f"{summary.duplicates} duplicate ids and {len(summary.skipped)} empty rows skipped.")
    if not no_index:
        update = _engine(settings).update()
        out["index"] = update.as_dict()
        if not as_json:
            click.echo(_summary_line(update))
    if as_json:
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))


@main.command()
@_common
@click.option("--kind", type=click.Choice(["actors", "places", "operations"]))
@click.option("--unknown", is_flag=True, help="Capitalised names the gazetteer does not know, most frequent first.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
def entities(settings, kind, unknown, limit, as_json):
    """List actors, places and operations in the index with report counts."""
    engine = _engine(settings)
    _ensure_index(engine)
    if unknown:
        rows = engine.gazetteer.unknown_names(engine.texts(), limit=limit)
        if as_json:
            click.echo(json.dumps([{"name": n, "count": c} for n, c in rows], indent=2, ensure_ascii=False))
        else:
            for n, c in rows:
                click.echo(f"{c:6d}  {n}")
        return
    data = engine.entities(kind, limit=limit)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for k, rows in data.items():
        click.echo(f"{k} ({len(rows)})")
        for r in rows:
            t = f"  [{r['type']}]" if r.get("type") else ""
            click.echo(f"  {r['count']:6d}  {r['label']}  ({r['value']}){t}")


@main.command()
@_common
@click.option("--debounce", default=1.0, show_default=True, type=float,
              help="Seconds of quiet before an update runs.")
def watch(settings, debounce):
    """Keep the index up to date while reports are added, changed or removed."""
    from .watch import watch_folder

    engine = _engine(settings)
    _ensure_index(engine)
    click.echo(f"Watching {settings.reports_dir} (Ctrl-C to stop) …", err=True)
    watch_folder(engine, debounce=debounce,
                 report=lambda s: click.echo(_summary_line(s), err=True))


@main.command()
@_common
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--rate-limit", default="120 per minute", show_default=True,
              help='Requests per client address to pages and API, e.g. "300 per minute", or "off".')
@click.option("--debug", is_flag=True, help="Flask's development server with the debugger (never on a network).")
def serve(settings, host, port, threads, rate_limit, debug):
    """Serve the web page and JSON API (waitress, a production WSGI server)."""
    engine = _engine(settings)
    _ensure_index(engine)
    from web import create_app

    limit = rate_limit.strip().lower()
    config = ({"RATELIMIT_ENABLED": False} if limit in ("off", "none", "0", "") else
              {"RATELIMIT_APPLICATION": rate_limit})
    app = create_app(settings=settings, engine=engine, test_config=config)
    click.echo(f"Serving {engine.count()} reports on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads, ident="reports")


if __name__ == "__main__":   # pragma: no cover
    main()
