"""Reading report files: parsing, metadata, encodings, and files that are not reports."""

import codecs
import datetime as dt
import os

import pytest

from search.ingest import Report, Skipped, decode, display_title, parse_date, parse_report, scan

from conftest import SEEDS, TINY, copy_reports

LIMITS = dict(max_file_bytes=1_000_000, max_archive_bytes=10_000_000)


def load_all(folder):
    result = scan(folder, **LIMITS)
    loaded = {rid: e.load() for rid, e in result.entries.items()}
    reports = {rid: r for rid, r in loaded.items() if isinstance(r, Report)}
    skipped = result.skipped + [r for r in loaded.values() if isinstance(r, Skipped)]
    return reports, skipped


def test_seed_parsing_drops_boilerplate_and_repeated_title():
    reports, skipped = load_all(SEEDS)
    assert len(reports) == 5 and skipped == []
    r = reports["002_1b63410c73f9c8ac.txt"]
    assert r.title == "Syria, Isis militiamen are trying to escape from Hajin to avoid the SDF offensive"
    assert r.lede.startswith("More and-more militiamen of the Islamic State")
    assert "Syria, Isis Militiamen Are Trying" not in r.text       # Title Case repeat dropped
    for report in reports.values():
        assert "skip to Main Content" not in report.text
        assert "Back To Top" not in report.text
        assert report.date is None                                  # the seeds are undated


def test_header_block_and_sidecar(tmp_path):
    reports, _ = load_all(copy_reports(TINY, tmp_path))
    bravo = reports["bravo.txt"]
    assert (bravo.date, bravo.source) == (dt.date(2018, 7, 2), "Tiny Wire")
    assert bravo.title == "Bravo: Daesh shells Hajin"
    assert bravo.lede == "Islamic State mortars hit the Hajin market."
    echo = reports["echo.txt"]
    assert (echo.date, echo.source) == (dt.date(2018, 8, 20), "Tiny Wire")
    assert "echo.json" not in reports                               # a sidecar is not a report


def test_changing_a_sidecar_changes_the_hash(tmp_path):
    folder = copy_reports(TINY, tmp_path)
    before = scan(folder, **LIMITS).entries["echo.txt"].hash
    (folder / "echo.json").write_text('{"date": "2018-08-21"}')
    assert scan(folder, **LIMITS).entries["echo.txt"].hash != before


TEXT = "Title Ḩasakah – “quoted” café\n\nBody"


@pytest.mark.parametrize("data", [
    TEXT.encode("utf-8"),
    codecs.BOM_UTF8 + TEXT.encode("utf-8"),
    codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
], ids=["utf8", "utf8-bom", "utf16le", "utf16be"])
def test_unicode_encodings(data):
    assert decode(data) == TEXT


def test_cp1252_and_latin1_and_invalid_bytes():
    assert decode("café – “x”".encode("cp1252")) == "café – “x”"
    assert decode(b"caf\xe9 \x81") == "café "            # 0x81 is not cp1252: Latin-1, control stripped
    assert decode(b"a\x00b\x07c\r\nd") == "abc\nd"


def test_nfc_normalisation():
    assert decode("Ḩasakah".encode("utf-8")) == decode(
        __import__("unicodedata").normalize("NFD", "Ḩasakah").encode("utf-8"))


def test_files_that_are_not_reports_are_skipped_and_counted(tmp_path):
    (tmp_path / "ok.txt").write_text("A title\n\nA lede about Hajin.")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("\n\n  \nskip to Main Content\nBack To Top\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00")
    (tmp_path / "huge.txt").write_bytes(b"word " * 300_000)
    (tmp_path / ".hidden.txt").write_text("ignored")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("Secret\n\nOutside the folder")
    os.symlink(outside, tmp_path / "link.txt")
    os.symlink(tmp_path / "ok.txt", tmp_path / "inside-link.txt")
    reports, skipped = load_all(tmp_path)
    reasons = {s.path: s.reason for s in skipped}
    assert set(reports) == {"ok.txt", "inside-link.txt"}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.txt"].startswith("empty")
    assert "binary" in reasons["image.png"] and "binary" in reasons["doc.pdf"]
    assert "larger than" in reasons["huge.txt"]
    assert "outside" in reasons["link.txt"]


def test_archive_records_and_duplicate_ids(tmp_path):
    (tmp_path / "imported").mkdir()
    (tmp_path / "imported" / "wire.jsonl").write_text(
        '{"id": "1", "title": "One", "body": "First body", "date": "2017-04-05"}\n'
        '{"id": "1", "title": "One again", "body": "Duplicate"}\n'
        'not json\n'
        '{"title": "no id"}\n'
        '{"id": "2", "body": "Only a body with no title at all here"}\n')
    reports, skipped = load_all(tmp_path)
    assert set(reports) == {"imported/wire:1", "imported/wire:2"}
    assert reports["imported/wire:1"].date == dt.date(2017, 4, 5)
    untitled = reports["imported/wire:2"]
    assert untitled.title == ""                      # not indexed as a title
    assert display_title(untitled.title, untitled.lede, untitled.body).startswith("Only a body")
    assert len(skipped) == 3


def test_one_paragraph_file():
    r = parse_report("Just one line about Hajin", id="x")
    assert r.title == "Just one line about Hajin" and r.lede == "" and r.body == ""


@pytest.mark.parametrize("value, expected", [
    ("2018-07-02", dt.date(2018, 7, 2)),
    ("2018-07-02T10:00:00Z", dt.date(2018, 7, 2)),
    ("4/5/2017", dt.date(2017, 4, 5)),
    ("4/5/17", dt.date(2017, 4, 5)),
    ("5 April 2017", dt.date(2017, 4, 5)),
    ("April 5, 2017", dt.date(2017, 4, 5)),
    ("2017", dt.date(2017, 1, 1)),
    ("2018-13-40", None),
    ("yesterday", None),
    ("", None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected
