"""Run `vsumlab ARGS...` and SIGKILL this very process right after the checkpoint of epoch
VSUMLAB_TEST_KILL_EPOCH is written (a real kill -9: no cleanup, no finally blocks)."""

from __future__ import annotations

import os
import signal
import sys

from lightning.pytorch.callbacks import ModelCheckpoint

from vsumlab.cli.main import main

KILL_EPOCH = int(os.environ["VSUMLAB_TEST_KILL_EPOCH"])
_save_last = ModelCheckpoint._save_last_checkpoint


def _save_last_then_die(self, trainer, monitor_candidates):  # noqa: ANN001, ANN202
    _save_last(self, trainer, monitor_candidates)
    if trainer.current_epoch == KILL_EPOCH:
        os.kill(os.getpid(), signal.SIGKILL)


ModelCheckpoint._save_last_checkpoint = _save_last_then_die

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
