# vsumlab: every target runs inside .venv (created by `make install`).
# Every training target passes ARGS="..." through to its CLI command, e.g.
# ARGS="--trainer.fast_dev_run=true". FORCE=1 only means "overwrite": pretrain again over an
# existing pretraining checkpoint, start a results folder afresh (vsumlab cv/reproduce --force).
# REBUILD_SYNTHETIC=1 rebuilds Cap2Sum's synthetic caption features made from other inputs.
# A variation gets its own results folder, beside the default one (see run_dir below); OUT=DIR
# names it instead.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VSUMLAB := $(VENV)/bin/vsumlab
# torch and torchvision come first so that pip takes the builds this machine has on disk;
# override on other machines, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
GENERATED ?= data/generated
ARGS ?=
FORCE ?=
REBUILD_SYNTHETIC ?=
PYTEST_ARGS ?=
OUT ?=
force_flag = $(if $(FORCE),--force)

# Results folders. A target's default run writes its default folder (runs/finetune-tvsum-
# transformer, ...); a variation writes a folder beside it named after what differs, so the
# earlier results stay: ARGS="--data.init_args.split_file=splits/a.json --trainer.max_epochs=5"
# -> runs/finetune-tvsum-transformer+split_file=a.json,max_epochs=5 (an override is named by the
# last part of its key and the file name of its value; PRETRAIN_ARGS words start with pretrain-,
# a dataset file other than the synthetic one and SETTING add their names). OUT=DIR names the
# folder instead. The same variation resumes its folder; FORCE=1 starts it afresh.
empty :=
space := $(empty) $(empty)
comma := ,
variation_chars = $(subst ',,$(subst ",,$(subst [,,$(subst ],,$(subst {,,$(subst },,$(subst *,,$(subst ?,,$(1)))))))))
variation_key = $(lastword $(subst ., ,$(firstword $(subst =, ,$(patsubst --%,%,$(1))))))
variation_value = $(subst $(space),+,$(notdir $(subst $(comma), ,$(call variation_chars,$(patsubst $(firstword $(subst =, ,$(1)))=%,%,$(1))))))
variation_word = $(if $(findstring =,$(1)),$(call variation_key,$(1))=$(call variation_value,$(1)),$(call variation_key,$(notdir $(call variation_chars,$(1)))))
# $(call variation,plain words,override words,pretraining override words)
variation = $(subst $(space),$(comma),$(strip $(1) $(foreach w,$(2),$(call variation_word,$(w))) $(foreach w,$(3),pretrain-$(call variation_word,$(w)))))
# $(call run_dir,DEFAULT,plain words,override words[,pretraining override words])
run_dir = $(or $(OUT),$(1)$(if $(call variation,$(2),$(3),$(4)),+$(call variation,$(2),$(3),$(4))))

# Datasets of the training targets: the synthetic sets by default, or e.g.
# TVSUM_H5=/data/eccv16_dataset_tvsum_google_pool5.h5 for the real features.
TVSUM_H5 ?= $(GENERATED)/synthetic_tvsum.h5
SUMME_H5 ?= $(GENERATED)/synthetic_summe.h5
# The published feature files lack TVSum's per-user 1..5 scores (rank correlation needs them) and
# every frame rate. With TVSUM_ANNOTATIONS=<path>/ydata-tvsum50.mat (SUMME_ANNOTATIONS=<path>/GT)
# the targets first attach them (`vsumlab data attach-annotations`, published fields untouched)
# into $(GENERATED)/<file>_annotated.h5 and train and evaluate on that (TVSUM_DATA / SUMME_DATA).
TVSUM_ANNOTATIONS ?=
SUMME_ANNOTATIONS ?=
annotated = $(if $(and $($(1)_ANNOTATIONS),$(filter-out $(GENERATED)/synthetic_%,$($(1)_H5))),$(GENERATED)/$(basename $(notdir $($(1)_H5)))_annotated.h5,$($(1)_H5))
TVSUM_DATA = $(call annotated,TVSUM)
SUMME_DATA = $(call annotated,SUMME)
# a dataset file other than the synthetic default names the results folder of a variation
data_word = $(if $(filter-out $(GENERATED)/synthetic_%,$($(1)_H5)),$(basename $(notdir $($(1)_H5))))
# ViSP's embedded data: the generic-background variant of the synthetic sets (`vsumlab data synth
# --background generic`: non-planted shots show scenes shared by every video). ViSP keeps the
# frames that tell a video apart; in the default sets importance lies along a direction shared by
# all videos, so planted frames are not distinctive and ViSP's premise fails there
# (experiments/visp/README.md). TVSUM_H5/SUMME_H5 set to other files (real data) are used as is.
VISP_TVSUM_H5 ?= $(if $(filter $(GENERATED)/synthetic_tvsum.h5,$(TVSUM_H5)),$(GENERATED)/synthetic_tvsum_generic.h5,$(TVSUM_DATA))
VISP_SUMME_H5 ?= $(if $(filter $(GENERATED)/synthetic_summe.h5,$(SUMME_H5)),$(GENERATED)/synthetic_summe_generic.h5,$(SUMME_DATA))
# method=transformer|csta (supervised recipes) or a method with its own finetune recipes.
method ?= transformer
finetune_recipe = $(if $(filter transformer csta,$(method)),experiments/supervised/$(method)_$(1).yaml,experiments/$(method)/finetune_$(1).yaml)
# Methods whose fine-tuning starts from their own pretraining: method=cap2sum and method=visp
# fine-tune from make pretrain-cap2sum's / make pretrain-visp's checkpoint (made first when
# missing), exactly as finetune-cap2sum-* / finetune-visp-* do. Expanded when the recipe runs, so
# the checkpoint variables may be defined further down.
# method=clipit guides with the dense captions of make pretrain-cap2sum's captioner.
method_ckpt = $(if $(filter cap2sum clipit,$(method)),$(CAP2SUM_CKPT),$(if $(filter visp,$(method)),$(VISP_CKPT)))
method_pretrain = $(if $(method_ckpt),test -e $(method_ckpt) || $(MAKE) $(method_ckpt))
method_pretrained = $(if $(method_ckpt),--model.init_args.$(if $(filter clipit,$(method)),captioner,pretrained)=$(method_ckpt))
# method=visp fine-tunes on ViSP's data (VISP_TVSUM_H5 / VISP_SUMME_H5), as finetune-visp-* do.
method_h5 = $(if $(filter visp,$(method)),$(VISP_$(1)_H5),$($(1)_DATA))
# SETTING=canonical|augmented|transfer for make finetune-tvsum / finetune-summe (any method):
# augmented trains each fold on the target's training videos plus every video of the other
# datasets, transfer on the other datasets only and tests on all target videos (the data
# module's setting and extra_datasets; DSNet's and the papers' Augmented and Transfer columns).
# The other datasets: SumMe for TVSum, TVSum for SumMe, plus OVP_H5 and YOUTUBE_H5 when given
# (the published eccv16_dataset_{ovp,youtube}_google_pool5.h5; train-only). On the command line
# that is --data.init_args.setting=augmented --data.init_args.extra_datasets='[a.h5,b.h5]'.
SETTING ?= canonical
OVP_H5 ?=
YOUTUBE_H5 ?=
other_set = $(if $(filter TVSUM,$(1)),SUMME,TVSUM)
extra_h5 = $(strip $(call method_h5,$(call other_set,$(1))) $(OVP_H5) $(YOUTUBE_H5))
h5_list = [$(subst $(space),$(comma),$(strip $(1)))]
check_setting = $(if $(filter canonical augmented transfer,$(SETTING)),,$(error SETTING=$(SETTING): expected canonical, augmented or transfer))
setting_args = $(check_setting)$(if $(filter-out canonical,$(SETTING)),--data.init_args.setting=$(SETTING) --data.init_args.extra_datasets='$(call h5_list,$(call extra_h5,$(1)))')
setting_prereqs = $(if $(filter-out canonical,$(SETTING)),$(call method_h5,$(call other_set,$(1))))
setting_words = $(if $(filter-out canonical,$(SETTING)),$(SETTING) $(call data_word,$(call other_set,$(1))) $(foreach f,$(OVP_H5) $(YOUTUBE_H5),$(basename $(notdir $(f)))))
# the results folder of make finetune-<set>: runs/finetune-<set>-<method>, + what differs
finetune_out = $(call run_dir,runs/finetune-$(2)-$(method),$(call data_word,$(1)) $(call setting_words,$(1)),$(ARGS),$(if $(method_ckpt),$(PRETRAIN_ARGS)))

.PHONY: help install test test-fast lint bench demo video-demo data-synth clean finetune-tvsum finetune-summe pretrain-visp finetune-visp-tvsum finetune-visp-summe compare-visp-tvsum compare-visp-summe desumnet desumnet-synth desumnet-pretrain desumnet-train desumnet-refine desumnet-adapt desumnet-eval desumnet-timelapse desumnet-table3

help:  ## list targets
	@grep -E '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/; s/%/<name>/' | column -t -s $$'\t'

install: $(VENV)/.installed  ## create .venv and install vsumlab (editable) with the dev and notebooks extras (Jupyter)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[dev,notebooks]'
	touch $@

test: install  ## run the whole test suite (unit + slow end-to-end)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: install  ## unit tests only
	$(PY) -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: install  ## ruff
	$(VENV)/bin/ruff check src tests benchmarks

bench: install  ## run every benchmark script and print its figures
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

data-synth: $(GENERATED)/synthetic_tvsum.h5 $(GENERATED)/synthetic_summe.h5  ## build the embedded synthetic TVSum-like and SumMe-like sets

$(GENERATED)/synthetic_tvsum.h5: | install
	$(VSUMLAB) data synth --kind tvsum --out $@ --seed 0 --force

$(GENERATED)/synthetic_summe.h5: | install
	$(VSUMLAB) data synth --kind summe --out $@ --seed 1 --force

# attach the original annotations to a published file (TVSUM_ANNOTATIONS / SUMME_ANNOTATIONS)
ifneq ($(TVSUM_DATA),$(TVSUM_H5))
$(TVSUM_DATA): $(TVSUM_H5) | install
	$(VSUMLAB) data attach-annotations $(TVSUM_H5) --annotations $(TVSUM_ANNOTATIONS) --out $@ --force
endif
ifneq ($(SUMME_DATA),$(SUMME_H5))
$(SUMME_DATA): $(SUMME_H5) | install
	$(VSUMLAB) data attach-annotations $(SUMME_H5) --annotations $(SUMME_ANNOTATIONS) --out $@ --force
endif

demo_out = $(call run_dir,runs/demo,,$(ARGS))
# The honest comparison by default: every (fold, seed) replica of a model trained in one run
# (--replicas auto), tables with 95% intervals over the 15 replicas and Performance over Random.
DEMO_SEEDS ?= 3
demo: data-synth  ## 5 folds x DEMO_SEEDS (3) seeds of both supervised summarizers on the synthetic TVSum-like set, replicas in one run; mean ± 95% interval and PoR (runs/demo, OUT=...)
	$(VSUMLAB) cv --config experiments/supervised/transformer_tvsum.yaml --seeds $(DEMO_SEEDS) --out $(demo_out)/transformer --name transformer $(force_flag) $(ARGS)
	$(VSUMLAB) cv --config experiments/supervised/csta_tvsum.yaml --seeds $(DEMO_SEEDS) --out $(demo_out)/csta --name csta $(force_flag) $(ARGS)
	$(VSUMLAB) results $(demo_out)/transformer $(demo_out)/csta | tee $(demo_out)/results.md

# Your own videos, offline: generated annotated videos, their colorhist features (no weights),
# a small summarizer trained on them (one fit, fold 0's test videos held out), then
# `vsumlab summarize` of VIDEO (default: the generated one-minute example, in no split) with it:
# runs/video-demo/summaries/<video name>/{summary.mp4,keyframes.jpg,scores.png,summary.json}.
# The checkpoint is trained once (FORCE=1: again); VIDEO=your.mp4 summarizes your own video.
VIDEO_DEMO_DATA ?= $(GENERATED)/video-demo
VIDEO_DEMO_RUNS = $(call run_dir,runs/video-demo,,$(ARGS))
VIDEO_DEMO_CKPT = $(VIDEO_DEMO_RUNS)/checkpoints/model.ckpt
VIDEO ?= $(VIDEO_DEMO_DATA)/example/video_1.mp4
video_demo_env = VIDEO_DEMO_DATA=$(VIDEO_DEMO_DATA) VIDEO_DEMO_RUNS=$(VIDEO_DEMO_RUNS)

$(VIDEO_DEMO_DATA)/colorhist.h5: | install
	$(VSUMLAB) video-demo --out $(VIDEO_DEMO_DATA) --force

video-demo: install $(VIDEO_DEMO_DATA)/colorhist.h5  ## offline mp4 -> summary video, keyframes, plot: trains a colorhist summarizer on generated videos, summarizes VIDEO=... (no weights download)
	@if [ -e $(VIDEO_DEMO_CKPT) ] && [ -z "$(FORCE)" ]; then echo "$(VIDEO_DEMO_CKPT) exists: summarizing with it (FORCE=1 trains again)"; \
	else $(video_demo_env) $(VSUMLAB) fit --config experiments/video_demo/transformer_colorhist.yaml --trainer.enable_progress_bar=false $(ARGS) && test -f $(VIDEO_DEMO_CKPT); fi
	$(VSUMLAB) summarize $(VIDEO) --checkpoint $(VIDEO_DEMO_CKPT) --out $(VIDEO_DEMO_RUNS)/summaries/$(basename $(notdir $(VIDEO))) --force --no-progress

finetune-tvsum: install $(call method_h5,TVSUM) $(call setting_prereqs,TVSUM)  ## supervised 5-fold CV on TVSum (method=transformer|csta|cap2sum|visp|..., TVSUM_H5=..., SETTING=canonical|augmented|transfer); cap2sum/visp start from their pretrained checkpoint
	$(method_pretrain)
	$(VSUMLAB) cv --config $(call finetune_recipe,tvsum) --data.init_args.dataset=$(call method_h5,TVSUM) $(call setting_args,TVSUM) $(method_pretrained) --out $(call finetune_out,TVSUM,tvsum) $(force_flag) $(ARGS)

finetune-summe: install $(call method_h5,SUMME) $(call setting_prereqs,SUMME)  ## supervised 5-fold CV on SumMe (method=..., SUMME_H5=..., SETTING=...); cap2sum/visp start from their pretrained checkpoint
	$(method_pretrain)
	$(VSUMLAB) cv --config $(call finetune_recipe,summe) --data.init_args.dataset=$(call method_h5,SUMME) $(call setting_args,SUMME) $(method_pretrained) --out $(call finetune_out,SUMME,summe) $(force_flag) $(ARGS)

# the supervised models' augmented and transfer settings, as targets (make finetune-<set> SETTING=...)
.PHONY: augmented-tvsum augmented-summe transfer-tvsum transfer-summe
augmented-tvsum: install  ## make finetune-tvsum SETTING=augmented: + SumMe (and OVP_H5, YOUTUBE_H5 when given) in every fold's training (method=...)
	$(MAKE) finetune-$(lastword $(subst -, ,$@)) SETTING=$(firstword $(subst -, ,$@))
augmented-summe: install  ## make finetune-summe SETTING=augmented: + TVSum (and OVP_H5, YOUTUBE_H5) in training
	$(MAKE) finetune-$(lastword $(subst -, ,$@)) SETTING=$(firstword $(subst -, ,$@))
transfer-tvsum: install  ## make finetune-tvsum SETTING=transfer: train on SumMe (+ OVP_H5, YOUTUBE_H5), test on all TVSum videos
	$(MAKE) finetune-$(lastword $(subst -, ,$@)) SETTING=$(firstword $(subst -, ,$@))
transfer-summe: install  ## make finetune-summe SETTING=transfer: train on TVSum (+ OVP_H5, YOUTUBE_H5), test on all SumMe videos
	$(MAKE) finetune-$(lastword $(subst -, ,$@)) SETTING=$(firstword $(subst -, ,$@))

# ViSP: pretrain CSTA once on unlabeled videos (every PRETRAIN_H5 file, labels ignored), then the
# supervised CSTA 5-fold CV starts from it. `make pretrain-visp` passes PRETRAIN_ARGS, then ARGS,
# to the pretraining; when a fine-tuning target makes the checkpoint first, PRETRAIN_ARGS go to the
# pretraining and ARGS only to the CV.
# Data: VISP_TVSUM_H5 / VISP_SUMME_H5 (defined at the top). VISP_ROUNDS: rounds of compare-visp-*.
PRETRAIN_H5 ?= $(VISP_TVSUM_H5) $(VISP_SUMME_H5)
PRETRAIN_ARGS ?=
# A pretraining of other PRETRAIN_ARGS (or `make pretrain-* ARGS=...`) is another checkpoint,
# in its own folder (runs/visp/pretrain+pretrain-max_epochs=5); fine-tuning targets given the
# same PRETRAIN_ARGS start from it (and make it first when missing).
pretrain_words = $(PRETRAIN_ARGS) $(if $(filter pretrain-visp pretrain-cap2sum,$(MAKECMDGOALS)),$(ARGS))
pretrain_dir = $(1)$(if $(strip $(pretrain_words)),+$(call variation,,,$(pretrain_words)))
VISP_DIR ?= $(call pretrain_dir,runs/visp/pretrain)
VISP_CKPT := $(VISP_DIR)/visp-pretrained.ckpt
visp_comma := ,
visp_space := $(subst ,, )
visp_datasets = [$(subst $(visp_space),$(visp_comma),$(strip $(PRETRAIN_H5)))]

pretrain-visp: install $(PRETRAIN_H5)  ## ViSP pretraining of CSTA (PRETRAIN_H5="a.h5 b.h5"; FORCE=1 to redo)
	@if [ -e $(VISP_CKPT) ] && [ -z "$(FORCE)" ]; then echo "$(VISP_CKPT) exists; pass FORCE=1 to pretrain again" >&2; exit 2; fi
	VISP_PRETRAIN_DIR=$(VISP_DIR) $(VSUMLAB) fit --config experiments/visp/pretrain_fit.yaml --data.init_args.datasets='$(visp_datasets)' $(PRETRAIN_ARGS) $(ARGS)

$(VISP_CKPT):  # made for a fine-tuning target: its ARGS are the CV's, not the pretraining's
	$(MAKE) pretrain-visp ARGS=

$(GENERATED)/synthetic_tvsum_generic.h5: | install
	$(VSUMLAB) data synth --kind tvsum --background generic --out $@ --seed 0 --force

$(GENERATED)/synthetic_summe_generic.h5: | install
	$(VSUMLAB) data synth --kind summe --background generic --out $@ --seed 1 --force

finetune-visp-tvsum: install $(VISP_TVSUM_H5) $(VISP_CKPT)  ## ViSP+CSTA 5-fold CV on TVSum (VISP_TVSUM_H5) from make pretrain-visp's checkpoint
	$(VSUMLAB) cv --config experiments/visp/finetune_tvsum.yaml --data.init_args.dataset=$(VISP_TVSUM_H5) --model.init_args.pretrained=$(VISP_CKPT) --out $(call run_dir,runs/finetune-tvsum-visp,$(call data_word,TVSUM),$(ARGS),$(PRETRAIN_ARGS)) $(force_flag) $(ARGS)

finetune-visp-summe: install $(VISP_SUMME_H5) $(VISP_CKPT)  ## ViSP+CSTA 5-fold CV on SumMe (VISP_SUMME_H5) from make pretrain-visp's checkpoint
	$(VSUMLAB) cv --config experiments/visp/finetune_summe.yaml --data.init_args.dataset=$(VISP_SUMME_H5) --model.init_args.pretrained=$(VISP_CKPT) --out $(call run_dir,runs/finetune-summe-visp,$(call data_word,SUMME),$(ARGS),$(PRETRAIN_ARGS)) $(force_flag) $(ARGS)

# CSTA from scratch vs ViSP+CSTA, Welch's t-test over CV rounds (runs/visp/compare-<set>/welch.md).
# Round r varies everything that differs between two independent runs of the study: the folds
# (split_seed=r), the fine-tuning seed (r) and, for ViSP, its own pretraining (seed r, pretraining
# data order and validation share seed r); one `vsumlab cv` per round and method in round_<r>/.
# (With one shared checkpoint and fixed folds the rounds' spread would only be fine-tuning noise.)
VISP_ROUNDS ?= 0 1 2
# runs/visp/compare-<set> (+ what differs: the dataset file, ARGS, PRETRAIN_ARGS; or OUT=...)
visp_compare_dir = $(call run_dir,runs/visp/compare-$(1),$(call data_word,$(2)),$(ARGS),$(PRETRAIN_ARGS))
visp_round = $(VSUMLAB) cv --config experiments/supervised/csta_$(1).yaml --data.init_args.dataset=$(2) --data.init_args.split_seed=$(3) --seeds $(3), --out $(4)/csta/round_$(3) $(force_flag) $(ARGS) \
	&& $(VSUMLAB) cv --config experiments/visp/finetune_$(1).yaml --data.init_args.dataset=$(2) --data.init_args.split_seed=$(3) --seeds $(3), \
	--pretrain experiments/visp/pretrain.yaml --pretrain.data.init_args.datasets='$(visp_datasets)' --pretrain.seed_everything=$(3) --pretrain.data.init_args.seed=$(3) $(PRETRAIN_ARGS:--%=--pretrain.%) \
	--out $(4)/visp_csta/round_$(3) $(force_flag) $(ARGS)
# $(call visp_compare,set,h5,SET variable name)
visp_compare = $(foreach r,$(VISP_ROUNDS),$(call visp_round,$(1),$(2),$(r),$(call visp_compare_dir,$(1),$(3))) &&) \
	$(PY) -c "from vsumlab.evaluation.rounds import compare_round_folders as c; r='$(strip $(VISP_ROUNDS))'.split(); \
	print(c([f'$(call visp_compare_dir,$(1),$(3))/csta/round_{x}' for x in r], [f'$(call visp_compare_dir,$(1),$(3))/visp_csta/round_{x}' for x in r]))" | tee $(call visp_compare_dir,$(1),$(3))/welch.md

compare-visp-tvsum: install $(VISP_TVSUM_H5) $(PRETRAIN_H5)  ## CSTA scratch vs ViSP+CSTA on VISP_TVSUM_H5, Welch's t-test over VISP_ROUNDS (each: own folds, seeds, pretraining; FORCE=1 to redo)
	$(call visp_compare,tvsum,$(VISP_TVSUM_H5),TVSUM)

compare-visp-summe: install $(VISP_SUMME_H5) $(PRETRAIN_H5)  ## the same on VISP_SUMME_H5
	$(call visp_compare,summe,$(VISP_SUMME_H5),SUMME)

# Cap2Sum (experiments/cap2sum): weakly supervised pretraining on dense captions once (the
# captioner alone first, then the summarizer against it: model.captioner_epochs), then
# supervised / weak (caption) fine-tuning on 80% of the target videos (CAP2SUM_SHARE) and
# zero-shot evaluation start from its checkpoint.
# Default: ActivityNet Captions from $VSUMLAB_DATA (../shared/data) with synthetic caption-aligned
# features and the small CPU config; CAP2SUM_PRETRAIN=experiments/cap2sum/pretrain.yaml for the
# paper's sizes. `make pretrain-cap2sum` passes PRETRAIN_ARGS, then ARGS, to the pretraining; when
# a fine-tuning target makes the checkpoint first, ARGS go only to the CV. `make finetune-tvsum
# method=cap2sum` (and -summe) runs that CV from the same checkpoint with the harness's default
# split (validation carved from the training fold) instead of CAP2SUM_SHARE.
.PHONY: pretrain-cap2sum finetune-cap2sum-tvsum finetune-cap2sum-summe weak-finetune-cap2sum-tvsum weak-finetune-cap2sum-summe zeroshot-cap2sum-tvsum zeroshot-cap2sum-summe
CAP2SUM_PRETRAIN ?= experiments/cap2sum/pretrain_small.yaml
CAP2SUM_DIR ?= $(call pretrain_dir,runs/cap2sum/pretrain)
CAP2SUM_CKPT := $(CAP2SUM_DIR)/cap2sum-pretrained.ckpt
cap2sum_cv = $(VSUMLAB) cv --config experiments/cap2sum/$(1)_$(2).yaml --data.init_args.dataset=$(3) --model.init_args.pretrained=$(CAP2SUM_CKPT) $(force_flag)
# the paper's "Augment" fine-tuning: 80% of the target videos (the whole 5-fold training split)
CAP2SUM_SHARE ?= 0.8
# $(call cap2sum_out,runs/<folder>,SET): + the dataset file, another CAP2SUM_SHARE, ARGS, PRETRAIN_ARGS
cap2sum_out = $(call run_dir,$(1),$(call data_word,$(2)) $(if $(filter-out 0.8,$(CAP2SUM_SHARE)),share=$(CAP2SUM_SHARE)),$(ARGS),$(PRETRAIN_ARGS))

pretrain-cap2sum: install  ## Cap2Sum pretraining on dense captions (CAP2SUM_PRETRAIN=...; FORCE=1 to redo; REBUILD_SYNTHETIC=1 rebuilds synthetic features made from other inputs)
	@if [ -e $(CAP2SUM_CKPT) ] && [ -z "$(FORCE)" ]; then echo "$(CAP2SUM_CKPT) exists; pass FORCE=1 to pretrain again" >&2; exit 2; fi
	CAP2SUM_PRETRAIN_DIR=$(CAP2SUM_DIR) $(VSUMLAB) fit --config $(CAP2SUM_PRETRAIN) --config experiments/cap2sum/fit_checkpoint.yaml $(if $(REBUILD_SYNTHETIC),--data.init_args.force_synthetic=true) $(PRETRAIN_ARGS) $(ARGS)

$(CAP2SUM_CKPT):  # made for a fine-tuning target: its ARGS are the CV's, not the pretraining's
	$(MAKE) pretrain-cap2sum ARGS=

finetune-cap2sum-tvsum: install $(TVSUM_DATA) $(CAP2SUM_CKPT)  ## Cap2Sum supervised fine-tuning (MSE), 5-fold CV on TVSum
	$(call cap2sum_cv,finetune,tvsum,$(TVSUM_DATA)) --data.init_args.train_share=$(CAP2SUM_SHARE) --out $(call cap2sum_out,runs/finetune-tvsum-cap2sum,TVSUM) $(ARGS)

finetune-cap2sum-summe: install $(SUMME_DATA) $(CAP2SUM_CKPT)  ## Cap2Sum supervised fine-tuning (MSE), 5-fold CV on SumMe
	$(call cap2sum_cv,finetune,summe,$(SUMME_DATA)) --data.init_args.train_share=$(CAP2SUM_SHARE) --out $(call cap2sum_out,runs/finetune-summe-cap2sum,SUMME) $(ARGS)

weak-finetune-cap2sum-tvsum: install $(TVSUM_DATA) $(CAP2SUM_CKPT)  ## Cap2Sum fine-tuning on target captions (TVSUM_CAPTIONS=...), 5-fold CV on TVSum
	$(call cap2sum_cv,weak_finetune,tvsum,$(TVSUM_DATA)) --data.init_args.train_share=$(CAP2SUM_SHARE) --out $(call cap2sum_out,runs/weak-finetune-tvsum-cap2sum,TVSUM) $(ARGS)

weak-finetune-cap2sum-summe: install $(SUMME_DATA) $(CAP2SUM_CKPT)  ## Cap2Sum fine-tuning on target captions (SUMME_CAPTIONS=...), 5-fold CV on SumMe
	$(call cap2sum_cv,weak_finetune,summe,$(SUMME_DATA)) --data.init_args.train_share=$(CAP2SUM_SHARE) --out $(call cap2sum_out,runs/weak-finetune-summe-cap2sum,SUMME) $(ARGS)

zeroshot-cap2sum-tvsum: install $(TVSUM_DATA) $(CAP2SUM_CKPT)  ## the pretrained Cap2Sum summarizer alone on all TVSum videos
	$(call cap2sum_cv,finetune,tvsum,$(TVSUM_DATA)) --data.init_args.setting=zero_shot --out $(call run_dir,runs/zeroshot-tvsum-cap2sum,$(call data_word,TVSUM),$(ARGS),$(PRETRAIN_ARGS)) $(ARGS)

zeroshot-cap2sum-summe: install $(SUMME_DATA) $(CAP2SUM_CKPT)  ## the pretrained Cap2Sum summarizer alone on all SumMe videos
	$(call cap2sum_cv,finetune,summe,$(SUMME_DATA)) --data.init_args.setting=zero_shot --out $(call run_dir,runs/zeroshot-summe-cap2sum,$(call data_word,SUMME),$(ARGS),$(PRETRAIN_ARGS)) $(ARGS)

# DeSumNet (experiments/desumnet): generated category videos and the tiny demo network by
# default; the paper's network on real videos: DESUMNET_DATA=<dir with target_train.txt,
# target_test.txt, target_test.h5, target/, web/, pretrain/> DESUMNET_OVERLAY= (no demo overlay).
DESUMNET_DATA ?= $(GENERATED)/desumnet
# runs/desumnet, or runs/desumnet+<ARGS words> for a variation (OUT=... names it)
DESUMNET_RUNS ?= $(call run_dir,runs/desumnet,,$(ARGS))
DESUMNET_OVERLAY ?= --config experiments/desumnet/demo.yaml
DESUMNET_AUGMENT_OVERLAY ?= $(if $(DESUMNET_OVERLAY),--config experiments/desumnet/demo_augment.yaml)
DESUMNET_CKPT ?= $(DESUMNET_RUNS)/adapt_augment/model.ckpt
DESUMNET_VIDEO ?= $(DESUMNET_DATA)/target/cat0/cat0_00.mp4
THRESHOLD ?= 0.5
desumnet_env = DESUMNET_DATA=$(DESUMNET_DATA) DESUMNET_RUNS=$(DESUMNET_RUNS)
# $(call desumnet_fit,recipe[,extra config]): one training stage, ARGS last so they win
desumnet_fit = $(desumnet_env) $(VSUMLAB) fit --config experiments/desumnet/$(1).yaml $(DESUMNET_OVERLAY) $(2) $(ARGS)
# $(call desumnet_score,stage): importance of the target test videos and its evaluation
desumnet_score = $(VSUMLAB) desumnet importance --checkpoint $(DESUMNET_RUNS)/$(1)/model.ckpt --dataset $(DESUMNET_DATA)/target_test.h5 --videos $(DESUMNET_DATA)/target --out $(DESUMNET_RUNS)/$(1)/importance.h5 --force && $(VSUMLAB) eval --dataset $(DESUMNET_DATA)/target_test.h5 --predictions $(DESUMNET_RUNS)/$(1)/importance.h5 | tee $(DESUMNET_RUNS)/$(1)/eval.txt

desumnet-synth: install  ## DeSumNet: generate category videos (pretrain/target/web) and the target test h5
	$(VSUMLAB) desumnet synth $(DESUMNET_DATA) --force

desumnet-pretrain: install  ## DeSumNet: cross-dataset pretraining on the UCF101-layout set
	$(call desumnet_fit,pretrain_ucf101)

desumnet-train: install  ## DeSumNet: fine-tune the pretrained 3D CNN on the target categories (Table 3 "Pre-train")
	$(call desumnet_fit,table3_pretrain)

desumnet-refine: install  ## DeSumNet: keep the web segments the fine-tuned model believes in (THRESHOLD=0.5)
	$(VSUMLAB) desumnet refine --checkpoint $(DESUMNET_RUNS)/pretrain_finetune/model.ckpt --web $(DESUMNET_DATA)/web --out $(DESUMNET_DATA)/web_refined.txt --threshold $(THRESHOLD) --force

desumnet-adapt: install  ## DeSumNet: model adaptation on the refined web segments, with augmentation (Table 3, 6)
	$(call desumnet_fit,table3_pretrain_adapt_augment,$(DESUMNET_AUGMENT_OVERLAY))

desumnet-eval: install  ## DeSumNet: importance of the target test videos, F1/tau/rho vs baselines (DESUMNET_CKPT=...)
	$(VSUMLAB) desumnet importance --checkpoint $(DESUMNET_CKPT) --dataset $(DESUMNET_DATA)/target_test.h5 --videos $(DESUMNET_DATA)/target --out $(DESUMNET_RUNS)/importance.h5 --force
	$(VSUMLAB) eval --dataset $(DESUMNET_DATA)/target_test.h5 --predictions $(DESUMNET_RUNS)/importance.h5
	$(VSUMLAB) eval baselines --dataset $(DESUMNET_DATA)/target_test.h5

desumnet-timelapse: install  ## DeSumNet: importance-driven time-lapse of DESUMNET_VIDEO
	$(VSUMLAB) timelapse $(DESUMNET_VIDEO) --checkpoint $(DESUMNET_CKPT) --out $(DESUMNET_RUNS)/timelapse.mp4 --force

desumnet: install  ## DeSumNet end to end on generated videos: synth, pretrain, train, refine, adapt, eval, time-lapse
	$(MAKE) desumnet-synth
	$(MAKE) desumnet-pretrain
	$(MAKE) desumnet-train
	$(MAKE) desumnet-refine
	$(MAKE) desumnet-adapt
	$(MAKE) desumnet-eval
	$(MAKE) desumnet-timelapse

desumnet-table3: install  ## DeSumNet: the six training settings of the paper's Table 3, each scored on the target test h5
	$(call desumnet_fit,table3_scratch)
	$(call desumnet_score,scratch)
	$(call desumnet_fit,table3_scratch_web)
	$(call desumnet_score,scratch_web)
	test -f $(DESUMNET_RUNS)/pretrain/model.ckpt || $(MAKE) desumnet-pretrain
	$(call desumnet_fit,table3_pretrain)
	$(call desumnet_score,pretrain_finetune)
	$(call desumnet_fit,table3_pretrain_web)
	$(call desumnet_score,pretrain_web)
	$(MAKE) desumnet-refine
	$(call desumnet_fit,table3_pretrain_adapt)
	$(call desumnet_score,adapt)
	$(call desumnet_fit,table3_pretrain_adapt_augment,$(DESUMNET_AUGMENT_OVERLAY))
	$(call desumnet_score,adapt_augment)

# CLIP-It (experiments/clipit): caption-aligned synthetic sets (data/generated/clipit), the
# canonical/augmented/transfer settings, the text ablation and the query demo, with the random
# tiny text tower. Real data: make finetune-tvsum method=clipit TVSUM_H5=... with local CLIP
# weights (CLIPIT_TEXT_WEIGHTS=...), or CLIPIT_TEXT_ENCODER=vsumlab-tiny-clip CLIPIT_TEXT_DIM=32.
.PHONY: clipit clipit-data clipit-canonical clipit-ablation clipit-augmented clipit-transfer clipit-query
CLIPIT_DATA := data/generated/clipit
# runs/clipit/<setting>, or runs/clipit+<ARGS words>/<setting> for a variation (OUT=...)
CLIPIT_RUNS ?= $(call run_dir,runs/clipit,,$(ARGS))
clipit_cv = $(VSUMLAB) cv --config experiments/clipit/synthetic_$(1).yaml --out $(CLIPIT_RUNS)/$(1) --name clipit-$(1) $(force_flag) $(ARGS)

clipit-data: install  ## CLIP-It: caption-aligned synthetic SumMe-like + TVSum-like sets and their dense captions
	$(VSUMLAB) clipit data --out $(CLIPIT_DATA) --force

$(CLIPIT_DATA)/captioned_summe.h5:
	$(MAKE) clipit-data

clipit-canonical: install $(CLIPIT_DATA)/captioned_summe.h5  ## CLIP-It 5-fold CV, canonical setting, caption-guided
	$(call clipit_cv,canonical)

clipit-ablation: install $(CLIPIT_DATA)/captioned_summe.h5  ## CLIP-It text ablation (same network, no language branch)
	$(call clipit_cv,ablation)

clipit-augmented: install $(CLIPIT_DATA)/captioned_summe.h5  ## CLIP-It augmented setting (+ the TVSum-like set in training)
	$(call clipit_cv,augmented)

clipit-transfer: install $(CLIPIT_DATA)/captioned_summe.h5  ## CLIP-It transfer setting (train TVSum-like, test SumMe-like)
	$(call clipit_cv,transfer)

clipit-query: install  ## CLIP-It query mode: a query naming one event vs another, on clipit-canonical's fold 0
	test -f $(CLIPIT_RUNS)/canonical/seed_default/fold_0/checkpoints/last.ckpt || $(MAKE) clipit-canonical
	$(VSUMLAB) clipit query-demo --fold $(CLIPIT_RUNS)/canonical/seed_default/fold_0 --dataset $(CLIPIT_DATA)/captioned_summe.h5 --captions $(CLIPIT_DATA)/captioned_summe_captions.json

clipit: clipit-canonical clipit-ablation clipit-augmented clipit-transfer clipit-query  ## CLIP-It: all settings, the ablation and the query demo; one table
	$(VSUMLAB) results $(CLIPIT_RUNS)/canonical $(CLIPIT_RUNS)/ablation $(CLIPIT_RUNS)/augmented $(CLIPIT_RUNS)/transfer | tee $(CLIPIT_RUNS)/results.md

# Experiment operations. Sweeps: experiments/sweeps/<name>.yaml; `make sweep-transformer` creates
# one (needs a W&B login or server), `make agent SWEEP=entity/project/id [COUNT=n]` runs trials
# (each a `vsumlab cv`, logged into the agent's run, results in runs/sweeps/<sweep>/<run>).
# Reproduction: `make reproduce` writes $(REPRODUCE_OUT)/<paper>.md, our figures beside the
# published ones, on TVSUM_H5 / SUMME_H5 (OVP_H5, YOUTUBE_H5 when given); REPRODUCE_DESUMNET=1
# runs `make desumnet-table3` first. REPRODUCE_ARGS go to `vsumlab reproduce` (e.g. --papers visp).
.PHONY: agent reproduce reproduce-quick
SWEEP ?=
COUNT ?=
WANDB_PROJECT ?= vsumlab
REPRODUCE_OUT ?= runs/reproduce
REPRODUCE_ARGS ?=
REPRODUCE_DESUMNET ?=

sweep-%: install  ## create the W&B sweep experiments/sweeps/<name>.yaml (needs a W&B login or server)
	$(VENV)/bin/wandb sweep --project $(WANDB_PROJECT) experiments/sweeps/$*.yaml

# No W&B server? `make sweep-local-<name> TRIALS=4 ARGS="--trainer.max_epochs=5"`: random search
# over the same sweep file, each trial the agent's exact command, leaderboard in
# runs/sweeps/local-<name>/leaderboard.md (vsumlab sweep, vsumlab.training.sweeps).
TRIALS ?= 4
# The ViSP sweep runs on ViSP's data (VISP_TVSUM_H5 / VISP_SUMME_H5, the generic-background sets
# by default); with a W&B agent: make agent SWEEP=... TVSUM_H5=$(VISP_TVSUM_H5) SUMME_H5=$(VISP_SUMME_H5).
sweep_h5 = $(abspath $(if $(filter visp,$(1)),$(VISP_$(2)_H5),$($(2)_DATA)))
sweep-local-%: install $(TVSUM_DATA) $(SUMME_DATA)  ## run experiments/sweeps/<name>.yaml locally, no W&B server (TRIALS=4): runs/sweeps/local-<name>/leaderboard.md
	$(if $(filter visp,$*),$(MAKE) $(VISP_TVSUM_H5) $(VISP_SUMME_H5))
	PATH="$(abspath $(VENV))/bin:$$PATH" TVSUM_H5=$(call sweep_h5,$*,TVSUM) SUMME_H5=$(call sweep_h5,$*,SUMME) $(VSUMLAB) sweep experiments/sweeps/$*.yaml --trials $(TRIALS) $(ARGS)

agent: install $(TVSUM_DATA) $(SUMME_DATA)  ## run W&B sweep trials: make agent SWEEP=entity/project/id [COUNT=n]; make sweep-<name> creates one
	@test -n "$(SWEEP)" || { echo "usage: make agent SWEEP=<entity/project/sweep id> [COUNT=n]" >&2; exit 2; }
	PATH="$(abspath $(VENV))/bin:$$PATH" TVSUM_H5=$(abspath $(TVSUM_DATA)) SUMME_H5=$(abspath $(SUMME_DATA)) $(VENV)/bin/wandb agent $(if $(COUNT),--count $(COUNT)) $(SWEEP)

reproduce_data_words = $(call data_word,TVSUM) $(call data_word,SUMME) $(foreach f,$(OVP_H5) $(YOUTUBE_H5),$(basename $(notdir $(f))))
reproduce: install $(TVSUM_DATA) $(SUMME_DATA)  ## papers' main tables, ours beside the published figures: $(REPRODUCE_OUT)/<paper>.md
	$(if $(REPRODUCE_DESUMNET),$(MAKE) desumnet-table3)
	TVSUM_H5=$(TVSUM_DATA) SUMME_H5=$(SUMME_DATA) $(if $(OVP_H5),OVP_H5=$(OVP_H5)) $(if $(YOUTUBE_H5),YOUTUBE_H5=$(YOUTUBE_H5)) $(VSUMLAB) reproduce --out $(call run_dir,$(REPRODUCE_OUT),$(reproduce_data_words),$(REPRODUCE_ARGS) $(ARGS)) $(force_flag) $(REPRODUCE_ARGS) $(ARGS)

# Without CLIPIT_TEXT_ENCODER, the quick run gives CLIP-It its tiny random text tower (no weights).
reproduce-quick: install $(TVSUM_DATA) $(SUMME_DATA)  ## the same with 2 folds and one short epoch (checks the pipeline; figures not comparable)
	$(if $(CLIPIT_TEXT_ENCODER),,CLIPIT_TEXT_ENCODER=vsumlab-tiny-clip CLIPIT_TEXT_DIM=32) TVSUM_H5=$(TVSUM_DATA) SUMME_H5=$(SUMME_DATA) $(if $(OVP_H5),OVP_H5=$(OVP_H5)) $(if $(YOUTUBE_H5),YOUTUBE_H5=$(YOUTUBE_H5)) $(VSUMLAB) reproduce --quick --out $(call run_dir,$(REPRODUCE_OUT)-quick,$(reproduce_data_words),$(REPRODUCE_ARGS) $(ARGS)) $(force_flag) $(REPRODUCE_ARGS) $(ARGS)

# Everything the project writes lies under these: generated data and caches, runs (results
# folders with their offline W&B runs and W&B's artifact staging: runs/**/wandb/), and what a
# `vsumlab fit` outside the recipes' folders leaves (lightning_logs, wandb, config.yaml).
clean:  ## remove generated data, caches and runs, W&B's offline files included (keeps .venv)
	rm -rf $(GENERATED) data/cache runs lightning_logs wandb config.yaml
