"""Worker of test_ddp_methods.py, started twice by ``torch.distributed.run`` (2 CPU processes,
gloo): fits each method's case through the LightningCLI in turn, in one process group (Lightning
sees the externally created processes and joins them instead of launching its own), and rank 0
writes what each fit reached to a JSON file after every case."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def main(cases_file: str, out_file: str) -> None:
    from vsumlab.cli.lightning import expand_recipes, make_cli

    cases = json.loads(Path(cases_file).read_text())
    rank = int(os.environ.get("RANK", "0"))
    report: dict[str, dict] = {}
    for name, case in cases.items():
        os.environ.update(case.get("env", {}))  # recipes interpolate ${oc.env:...} on composing
        try:
            with tempfile.TemporaryDirectory() as tmp:
                cli = make_cli(expand_recipes(case["args"], Path(tmp)), run=False)
            cli.trainer.fit(cli.model, datamodule=cli.datamodule)
            report[name] = {"global_step": cli.trainer.global_step,
                            "world_size": cli.trainer.world_size}
            if "val/video_acc" in cli.trainer.callback_metrics:
                # every process must reach the same video accuracy (clips gathered first)
                import torch.distributed as dist

                mine = float(cli.trainer.callback_metrics["val/video_acc"])
                values = [None] * cli.trainer.world_size
                dist.all_gather_object(values, mine)
                report[name]["val_video_acc"] = values
        except Exception as exc:  # recorded per method; the other cases still run
            report[name] = {"error": f"{exc.__class__.__name__}: {exc}"[:3000]}
        if rank == 0:
            Path(out_file).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
