#!/usr/bin/env bash
# Re-derive ViSP's pretraining choices (epochs, lr, head reset) on VALIDATION data only.
# Each config: pretrain once (vsumlab cv --pretrain), then the supervised CSTA CV on the
# SumMe-like generic set; the score compared is the model row's val_* (mean over folds of the
# validation videos the datamodule carves from each fold's training videos), never test_*.
# Small budget: one fine-tuning seed, one pretraining seed per config. Usage:
#   experiments/visp/select_on_validation.sh [OUT_DIR] [CONFIG ...]
set -euo pipefail
out=${1:-runs/visp/select}; shift || true
h5=${VISP_SUMME_H5:-data/generated/synthetic_summe_generic.h5}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(scratch e5 e10 e20 e10_lr1e-3 e10_keephead)
for name in "${configs[@]}"; do
  pre=(--pretrain experiments/visp/pretrain.yaml
       "--pretrain.data.init_args.datasets=[data/generated/synthetic_tvsum_generic.h5,$h5]")
  case $name in
    scratch) recipe=experiments/supervised/csta_summe.yaml; pre=() ;;
    fsa) recipe=experiments/visp/finetune_summe.yaml  # Table 3 (+) FSA: TVSum pseudo-summaries
         pre=(--pretrain experiments/visp/pretrain_fsa.yaml) ;;
    e*) recipe=experiments/visp/finetune_summe.yaml
        epochs=${name#e}; epochs=${epochs%%_*}
        pre+=("--pretrain.trainer.max_epochs=$epochs")
        case $name in
          *_lr1e-3) pre+=("--pretrain.model.init_args.lr=1.0e-3") ;;
          *_keephead) pre+=("--pretrain.model.init_args.reset_head=false") ;;
          *_gumbel) pre+=("--pretrain.model.init_args.reparameterization=gumbel") ;;
        esac ;;
  esac
  vsumlab cv --config "$recipe" --data.init_args.dataset="$h5" --out "$out/$name" "${pre[@]}" >"$out.$name.log" 2>&1 \
    || { echo "$name failed (see $out.$name.log)"; continue; }
  python - "$out/$name" "$name" <<'PY'
import json, sys
row = next(r for r in json.load(open(f"{sys.argv[1]}/results.json"))["rows"] if r.get("kind", "model") == "model")
print(sys.argv[2], " ".join(f"val_{m}={row.get('val_' + m, float('nan')):.4f}" for m in ("kendall", "spearman", "f1")), flush=True)
PY
done
