"""`reports watch`: apply folder changes to the index as they happen (watchdog)."""

from __future__ import annotations

import threading
import time

from .errors import IndexBusy


def watch_folder(engine, *, debounce: float = 1.0, report=None, stop: threading.Event | None = None):
    """Run incremental updates after file-system events settle for `debounce` seconds.
    Returns when `stop` is set (or on KeyboardInterrupt)."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    changed = threading.Event()
    stop = stop or threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            if event.event_type in ("opened", "closed_no_write"):
                return
            changed.set()

    observer = Observer()
    observer.schedule(Handler(), str(engine.settings.reports_dir), recursive=True)
    observer.start()
    try:
        while not stop.is_set():
            if not changed.wait(0.2):
                continue
            # Debounce: wait until no event arrived for `debounce` seconds.
            while changed.is_set() and not stop.is_set():
                changed.clear()
                time.sleep(debounce)
            try:
                summary = engine.update()
            except IndexBusy:
                changed.set()
                continue
            if report and summary.changed:
                report(summary)
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join(5)
