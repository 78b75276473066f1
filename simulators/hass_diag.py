"""Run ``hass`` with pause diagnostics (opt-in: ``EV_SESSIONS_HASS_DIAG=1``, see home_assistant.py).

Logs to stderr, one line each:

* ``gc`` — every garbage collection of generation 2 (and any collection over 20 ms): its
  duration, the objects collected and uncollectable, and the generation's object count;
* ``garbage`` — with ``EV_SESSIONS_HASS_DIAG=garbage``, the kinds of objects each gen-2
  collection found unreachable (kept by ``gc.DEBUG_SAVEALL``; slows ``hass``, diagnosis only);
* ``lag`` — the event loop did not run a ping for more than 50 ms: how long, and the stacks
  of the loop's thread sampled every 10 ms while it was stuck (so work done *on* the loop shows
  where it is; a pause inside the collector shows no samples, only its ``gc`` line).

    python -m simulators.hass_diag --config DIR     (arguments as for ``hass``)
"""

from __future__ import annotations

import asyncio
from collections import Counter
import gc
import os
import sys
import threading
import time
import traceback
import types
from typing import Any

LAG_S = 0.05
SAMPLE_S = 0.01
_gc_start: list[float] = [0.0]
#: ``EV_SESSIONS_HASS_DIAG=garbage``: keep what each collection frees and log its kinds at gen 2.
_SAVEALL = os.environ.get("EV_SESSIONS_HASS_DIAG") == "garbage"


def _log(line: str) -> None:
    sys.stderr.write(f"EVDIAG {time.time():.3f} {line}\n")
    sys.stderr.flush()


def _gc_callback(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
        return
    took = time.perf_counter() - _gc_start[0]
    generation = info.get("generation")
    if generation == 2 or took > 0.02:
        _log(
            f"gc gen={generation} ms={1000 * took:.1f} collected={info.get('collected')} "
            f"uncollectable={info.get('uncollectable')} counts={gc.get_count()} "
            f"objects={len(gc.get_objects(2)) if generation == 2 else '-'}"
        )
    if generation == 2 and _SAVEALL:
        _garbage_report()


def _describe(obj: object) -> str:
    """A type name, with what identifies the object's origin for the common cyclic kinds."""
    kind = type(obj).__qualname__
    module = type(obj).__module__
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, types.MethodType):
        return f"method {getattr(obj.__func__, '__qualname__', '?')}"
    if isinstance(obj, types.CellType):
        try:
            return f"cell -> {type(obj.cell_contents).__qualname__}"
        except ValueError:
            return "cell (empty)"
    if isinstance(obj, dict):
        return f"dict keys={sorted(map(str, obj))[:6]}"
    if isinstance(obj, (tuple, list)):
        return f"{kind} of {sorted({type(o).__qualname__ for o in obj})[:4]}"
    return f"{module}.{kind}"


def _garbage_report() -> None:
    """Log what the last collection found unreachable (DEBUG_SAVEALL keeps it), then drop it."""
    kinds = Counter(_describe(o) for o in gc.garbage)
    _log(f"garbage total={len(gc.garbage)}")
    for kind, count in kinds.most_common(25):
        _log(f"garbage x{count} {kind}")
    gc.garbage.clear()


def _watch(loop: asyncio.AbstractEventLoop, loop_thread: int) -> None:
    """Ping the loop; while it does not answer, sample its thread's stack."""
    while True:
        answered = threading.Event()
        sent = time.perf_counter()
        try:
            loop.call_soon_threadsafe(answered.set)
        except RuntimeError:
            return  # loop closed
        if answered.wait(LAG_S):
            time.sleep(0.02)
            continue
        stacks: Counter[str] = Counter()
        while not answered.wait(SAMPLE_S):
            frame = sys._current_frames().get(loop_thread)
            if frame is not None:
                stacks["".join(traceback.format_stack(frame, limit=14)[-14:])] += 1
        took = time.perf_counter() - sent
        if took > 0.1:
            _log(f"lag ms={1000 * took:.0f} samples={sum(stacks.values())}")
            for stack, count in stacks.most_common(3):
                _log(f"lag-stack x{count}\n{stack}")


def _install_on_loop() -> None:
    """Start the watchdog once hass's loop runs (patched into asyncio's loop start)."""
    original = asyncio.BaseEventLoop.run_forever

    def run_forever(self: asyncio.BaseEventLoop) -> None:
        threading.Thread(
            target=_watch, args=(self, threading.get_ident()), daemon=True, name="evdiag"
        ).start()
        original(self)

    asyncio.BaseEventLoop.run_forever = run_forever  # type: ignore[method-assign]


def main() -> int:
    """Install the diagnostics and run Home Assistant's own entry point."""
    gc.callbacks.append(_gc_callback)
    if _SAVEALL:
        gc.set_debug(gc.DEBUG_SAVEALL)
    _install_on_loop()
    _log("diagnostics on")
    from homeassistant.__main__ import main as hass_main

    sys.argv[0] = "hass"
    return hass_main()


if __name__ == "__main__":
    sys.exit(main())
