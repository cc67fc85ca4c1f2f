"""Per-epoch progress: a tqdm bar when tqdm is installed, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any, Optional, TextIO


def _tqdm() -> Any:
    try:
        import ipywidgets  # noqa: F401  (the notebook bar needs it)
        from tqdm.auto import tqdm
    except ImportError:
        try:
            from tqdm import tqdm
        except ImportError:
            return None
    return tqdm


class Progress:
    """Shows one line per epoch, or one bar advancing by epoch.

    mode: True (tqdm if installed, else lines), "bar", "lines", or False (silent)."""

    def __init__(self, mode: Any, total: Optional[int], desc: str, stream: Optional[TextIO] = None) -> None:
        self.stream = stream or sys.stderr
        self.desc = desc
        self.bar: Any = None
        self.lines = False
        if mode is False or mode is None:
            return
        tqdm = _tqdm() if mode in (True, "bar") else None
        if tqdm is not None:
            self.bar = tqdm(total=total, desc=desc, unit="epoch", file=self.stream, leave=True, dynamic_ncols=True)
        else:
            self.lines = True

    def update(self, report: Any) -> None:
        if self.bar is not None:
            post = {"loss": f"{report.loss:.4f}"}
            if report.validation is not None:
                post["val"] = f"{report.validation:.4f}" + (" *" if report.is_best else "")
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        elif self.lines:
            line = f"{self.desc}: epoch {report.epoch}  loss {report.loss:.4f}"
            if report.validation is not None:
                line += f"  val {report.validation:.4f}" + (" *" if report.is_best else "")
            line += f"  {report.train_seconds:.2f}s"
            print(line, file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        elif self.lines:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
