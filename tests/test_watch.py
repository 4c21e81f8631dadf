"""`reports watch`: a report dropped into the folder is searchable moments later."""

import threading
import time

from search.results import SearchRequest
from search.watch import watch_folder


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_dropped_changed_and_removed_reports_follow_the_folder(tiny, tiny_dir):
    stop = threading.Event()
    summaries = []
    thread = threading.Thread(target=watch_folder, args=(tiny,),
                              kwargs={"debounce": 0.2, "report": summaries.append, "stop": stop})
    thread.start()
    try:
        time.sleep(0.5)   # let the observer start
        (tiny_dir / "golf.txt").write_text("Golf: dropped this morning\n\nZanzibarword in Raqqa.")
        assert wait_for(lambda: tiny.search(SearchRequest(q="Zanzibarword")).total == 1)
        (tiny_dir / "golf.txt").write_text("Golf: rewritten\n\nQuokkaword now.")
        assert wait_for(lambda: tiny.search(SearchRequest(q="Quokkaword")).total == 1)
        assert tiny.search(SearchRequest(q="Zanzibarword")).total == 0
        (tiny_dir / "golf.txt").unlink()
        assert wait_for(lambda: tiny.count() == 5)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert sum(s.added for s in summaries) == 1 and sum(s.removed for s in summaries) == 1
