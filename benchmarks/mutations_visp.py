"""Mutation check of the ViSP / CSTA pins: each entry changes one equation or constant in a
private copy of src/ and runs the test file that should catch it; prints CAUGHT or MISSED.

    python benchmarks/mutations_visp.py [NAME-SUBSTRING ...]   (from the repository root)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

SAMPLER = "tests/models/visp/test_sampler.py"
SUMMARIES = "tests/models/visp/test_summaries.py"
PRETRAIN = "tests/models/visp/test_pretrain.py"
CONTRASTIVE = "tests/models/visp/test_contrastive.py"
FSA = "tests/models/visp/test_fsa.py"
CSTA = "tests/models/components/test_csta.py"
PARTS = "models/components/visp.py"
LOSSES = "models/losses/contrastive.py"

# (name, file under src/vsumlab, exact text, replacement, test file)
MUTATIONS = [
    ("concrete sign", PARTS, "logits=logits).rsample()", "logits=-logits).rsample()", SAMPLER),
    ("gumbel union -> sum", PARTS, "y = 1 - (1 - one_hot).prod(dim=1)", "y = one_hot.sum(dim=1)",
     SAMPLER),
    ("gumbel temperature multiplies", PARTS, "+ gumbel) / temperature", "+ gumbel) * temperature",
     SAMPLER),
    ("gumbel orientation", PARTS, "scores = (log_pi[:, None, :]", "scores = (-log_pi[:, None, :]",
     SAMPLER),
    ("gumbel k round -> ceil", PARTS, "torch.round(size).long()", "torch.ceil(size).long()",
     SAMPLER),
    ("gumbel k = T", PARTS,
     "return torch.minimum(torch.round(size).long().clamp(min=1), lengths.clamp(min=1))",
     "return lengths.clamp(min=1)", SAMPLER),
    ("sigmoid temperature multiplies", PARTS, "torch.sigmoid(logits / temperature)",
     "torch.sigmoid(logits * temperature)", SAMPLER),
    ("ste gradient halved", PARTS, "return hard + (y - y.detach())",
     "return hard + 0.5 * (y - y.detach())", SAMPLER),
    ("marginalization fills with y", PARTS, "out = out + fill * (1 - y)", "out = out + fill * y",
     SUMMARIES),
    ("random summary size floored", PARTS, "keep = y.detach().sum(1).round().long()",
     "keep = y.detach().sum(1).floor().long()", SUMMARIES),
    ("partner may be itself", PARTS, "torch.randint(1, batch_size", "torch.randint(0, batch_size",
     SUMMARIES),
    ("loss weights swapped", "models/visp.py",
     "loss = nce + self.beta_binary * binary + self.beta_size * size",
     "loss = nce + self.beta_size * binary + self.beta_binary * size", PRETRAIN),
    ("penalty sign", "models/visp.py", "loss = nce + self.beta_binary * binary",
     "loss = nce - self.beta_binary * binary", PRETRAIN),
    ("pairs swapped in the module", "models/visp.py", "nce = info_nce(summaries, videos, negatives",
     "nce = info_nce(videos, summaries, negatives", PRETRAIN),
    ("hard negative = the summary itself", "models/visp.py",
     "self.sampler.summarize(features, y_random, mask, partner)",
     "self.sampler.summarize(features, y, mask, partner)", PRETRAIN),
    ("penalties on the STE draws", "models/visp.py", "binary = binary_penalty(soft, mask)",
     "binary = binary_penalty(y, mask)", PRETRAIN),
    ("alpha_scale divides", "models/visp.py", "* self.alpha_scale  # alpha", "/ self.alpha_scale  # alpha",
     PRETRAIN),
    ("positives shifted", LOSSES, "target = torch.arange(summaries.shape[0], device=summaries.device)",
     "target = torch.arange(summaries.shape[0], device=summaries.device).roll(1)", CONTRASTIVE),
    ("similarity transposed", LOSSES, "return queries @ keys.T / temperature",
     "return keys @ queries.T / temperature", CONTRASTIVE),
    ("negatives before videos", LOSSES, "logits = torch.cat([logits, negatives], dim=1)",
     "logits = torch.cat([negatives, logits], dim=1)", CONTRASTIVE),
    ("binary penalty y^2", LOSSES, "((y * (1 - y) * weights)", "((y * y * weights)", CONTRASTIVE),
    ("size penalty not per length", LOSSES,
     "((y.abs() * weights).sum(1) / weights.sum(1).clamp_min(1.0)).mean()",
     "((y.abs() * weights).sum(1)).mean()", CONTRASTIVE),
    ("FSA budget 20%", "models/visp_fsa.py", "protocol or Protocol(),",
     "protocol or Protocol(budget=0.2),", FSA),
    ("FSA target flipped", "models/visp_fsa.py", "logits.float(), target.float(), reduction",
     "logits.float(), 1 - target.float(), reduction", FSA),
    ("FSA top-15% frames instead of Eq. 13", "models/visp_fsa.py",
     "    return frames[picks].astype(np.float32)",
     "    g = np.asarray(record.gtscore)\n    return (g >= np.quantile(g, 0.85)).astype(np.float32)",
     FSA),
    ("CSTA softmax axes swapped", "models/components/csta.py",
     "over_feat = torch.softmax(logits, dim=2)", "over_feat = torch.softmax(logits, dim=1)", CSTA),
    ("CSTA sum -> product", "models/components/csta.py", "attention = over_time + over_feat if",
     "attention = over_time * over_feat if", CSTA),
    ("CSTA feature map scaled by T", "models/components/csta.py",
     "over_feat = over_feat * x.shape[2]", "over_feat = over_feat * x.shape[1]", CSTA),
    ("CSTA GoogLeNet readout drops channels", "models/components/csta.py",
     "pooled = F.adaptive_avg_pool2d(self.body(one), (n, 1))",
     "pooled = F.adaptive_avg_pool2d(self.body(one)[:, :512], (n, 1)).repeat(1, 2, 1, 1)", CSTA),
]  # fmt: skip


def run(name: str, rel: str, old: str, new: str, tests: str, root: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "src")
        shutil.copytree(os.path.join(root, "src"), work)
        path = os.path.join(work, "vsumlab", rel)
        with open(path) as handle:
            text = handle.read()
        if text.count(old) != 1:
            print(f"SKIP {name}: the text occurs {text.count(old)} times in {rel}", flush=True)
            return False
        with open(path, "w") as handle:
            handle.write(text.replace(old, new))
        env = dict(os.environ, PYTHONPATH=work, OMP_NUM_THREADS="1")
        command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
                   "-q", "-x", "-m", "not slow", tests]  # fmt: skip
        result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root)
    failed = [line[7:120] for line in result.stdout.splitlines() if line.startswith("FAILED")]
    caught = result.returncode != 0
    print(("CAUGHT " if caught else "MISSED ") + name + (" :: " + failed[0] if failed else ""),
          flush=True)  # fmt: skip
    return caught


def main() -> int:
    only = sys.argv[1:]
    chosen = [m for m in MUTATIONS if not only or any(o in m[0] for o in only)]
    missed = [m[0] for m in chosen if not run(*m, root=os.getcwd())]
    print(f"{len(chosen) - len(missed)} of {len(chosen)} mutations caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
