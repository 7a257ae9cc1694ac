r"""The book's showcase character language model: an LSTM trained on the King James Bible.

Taught in "Training and losses" (``book/05_training``, section 5.4) and
"Applications" (``book/11_applications``, section 11.1). Training it takes
43 minutes on one quiet core (5,152 updates at about 0.5 s), longer than a book
build should, so its weights ship with the package (``course_pkg/pretrained/kjv_lstm.npz``) and the
chapters load them with :func:`load_pretrained_lm`. ``make lm`` retrains it
from :data:`RECIPE` and rewrites that file; ``tests/test_language_model.py``
reruns the first updates of the same recipe and checks that they follow the
stored training log.

The data split (:func:`kjv_split`): the model is scored on the last 10,000
characters of Genesis, the held-out text of chapter 11, and trained on
everything else of the Bible: the rest of Genesis and the 65 books after it,
4,127,847 characters. The n-gram baselines of chapter 11 are fitted on the
same training characters, so the comparison is fair.

The schedule: Adam at ``lr`` for the first ``constant_fraction`` of the
updates, then a linear decay to ``final_lr``; truncated BPTT over
``batch_size`` rows of ``seq_len`` characters, the state carried from chunk
to chunk and reset at the start of every epoch; gradients clipped to a
global norm of ``clip_norm``.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from importlib import resources
from typing import NamedTuple

import numpy as np

from .._validate import check_int
from ..datasets import CharVocab, load_text
from ..datasets.batching import char_lm_batches
from ..models import CarriedState, CharLM
from ..optim import Adam, clip_grad_norm

HELD_OUT = 10_000  # characters at the end of Genesis, never trained on


class LMRecipe(NamedTuple):
    """Everything that determines the trained model, given the corpus."""

    cell: str = "lstm"
    hidden_size: int = 512
    embed_dim: int = 64
    num_layers: int = 1
    batch_size: int = 64
    seq_len: int = 100
    epochs: int = 8
    lr: float = 2e-3
    final_lr: float = 1e-4
    constant_fraction: float = 0.5
    clip_norm: float = 5.0
    seed: int = 0
    dtype: str = "float32"


RECIPE = LMRecipe()


class LMSplit(NamedTuple):
    """The KJV split: vocabulary, training ids and held-out ids."""

    vocab: CharVocab
    train_ids: np.ndarray  # (4,127,847,) every character of the Bible but the held-out ones
    held_out: np.ndarray  # (10,000,) the last 10,000 characters of Genesis


def kjv_split() -> LMSplit:
    """The training and held-out ids of the showcase model (see the module docstring)."""
    kjv, genesis = load_text("kjv"), load_text("genesis")
    if not kjv.startswith(genesis):
        raise ValueError("the kjv corpus must start with the genesis corpus")
    vocab = CharVocab.from_text(kjv)
    cut = len(genesis) - HELD_OUT
    train = kjv[:cut] + kjv[len(genesis) :]
    return LMSplit(vocab, vocab.encode(train), vocab.encode(genesis[cut:]))


def updates_per_epoch(recipe: LMRecipe, n_ids: int) -> int:
    """Number of truncated-BPTT updates in one epoch over ``n_ids`` ids."""
    return (n_ids - 1) // recipe.batch_size // recipe.seq_len


def learning_rate(recipe: LMRecipe, step: int, total: int) -> float:
    """The learning rate of update ``step`` (0-based) out of ``total``."""
    start = int(recipe.constant_fraction * total)
    if step < start:
        return recipe.lr
    frac = (step - start) / max(1, total - 1 - start)
    return recipe.lr + (recipe.final_lr - recipe.lr) * min(1.0, frac)


def new_model(recipe: LMRecipe, vocab_size: int, dtype=None) -> CharLM:
    """The untrained model of ``recipe``: its initial weights come from ``recipe.seed``.

    ``dtype`` (default: ``recipe.dtype``) is the model's floating-point type.
    """
    return CharLM(
        vocab_size,
        recipe.hidden_size,
        rng=np.random.default_rng(recipe.seed),
        cell=recipe.cell,
        embed_dim=recipe.embed_dim,
        num_layers=recipe.num_layers,
        dtype=np.dtype(recipe.dtype if dtype is None else dtype).type,
    )


class TrainingLog(NamedTuple):
    """Losses recorded while training: every ``every`` updates, and the held-out loss."""

    steps: list  # update counts at which a record was taken
    train_loss: list  # mean training loss (nats/char) of the updates since the last record
    held_out_loss: list  # held-out loss (nats/char) at that point; nan where not measured
    seconds: list  # wall time since the start


def train_lm(
    recipe: LMRecipe = RECIPE,
    split: LMSplit | None = None,
    *,
    max_updates: int | None = None,
    every: int = 100,
    held_out_every: int = 500,
    checkpoint=None,
    report=None,
):
    """Train the showcase model by ``recipe``; return ``(model, log)``.

    Parameters
    ----------
    recipe : LMRecipe
    split : LMSplit, optional
        Default :func:`kjv_split`.
    max_updates : int, optional
        Stop after this many updates (the learning-rate schedule is still the
        one of the full run, so a shortened run follows the full run's first
        updates exactly).
    every : int
        Record the mean training loss every ``every`` updates.
    held_out_every : int
        Also measure the held-out loss every ``held_out_every`` updates (a
        multiple of ``every``) and at the end.
    checkpoint : callable, optional
        ``checkpoint(model, log, step)`` is called after every held-out
        measurement (to save a snapshot).
    report : callable, optional
        ``report(line)`` receives one line of text per record.
    """
    split = kjv_split() if split is None else split
    every = check_int("every", every, 1)
    held_out_every = check_int("held_out_every", held_out_every, every)
    if held_out_every % every:
        raise ValueError(
            f"held_out_every must be a multiple of every ({every}), got {held_out_every}"
        )
    per_epoch = updates_per_epoch(recipe, len(split.train_ids))
    total = per_epoch * recipe.epochs
    if max_updates is not None:
        max_updates = check_int("max_updates", max_updates, 1)
    stop = total if max_updates is None else min(total, max_updates)
    model = new_model(recipe, split.vocab.size)
    optimizer = Adam(recipe.lr)
    log = TrainingLog([], [], [], [])
    start, step, losses = time.perf_counter(), 0, []
    while step < stop:
        carry = CarriedState()  # every epoch starts each row from zero states
        for x, y in char_lm_batches(split.train_ids, recipe.batch_size, recipe.seq_len):
            optimizer.lr = learning_rate(recipe, step, total)
            loss, grads = model.loss_and_grads(x, y, carry)
            grads, _ = clip_grad_norm(grads, recipe.clip_norm)
            optimizer.step(model.params, grads)
            losses.append(float(loss))
            step += 1
            if step % every == 0 or step == stop:
                held = np.nan
                if step % held_out_every == 0 or step == stop:
                    held = model.evaluate(split.held_out)
                log.steps.append(step)
                log.train_loss.append(float(np.mean(losses)))
                log.held_out_loss.append(float(held))
                log.seconds.append(time.perf_counter() - start)
                losses = []
                if report is not None:
                    report(
                        f"update {step}/{total} lr {optimizer.lr:.2e} "
                        f"train {log.train_loss[-1]:.4f} held-out {held:.4f} "
                        f"{log.seconds[-1]:.0f} s"
                    )
                if checkpoint is not None and not np.isnan(held):
                    checkpoint(model, log, step)
            if step == stop:
                break
    return model, log


def _corpus_digest(split: LMSplit) -> str:
    h = hashlib.sha256(split.train_ids.astype(np.uint8).tobytes())
    h.update(split.held_out.astype(np.uint8).tobytes())
    return h.hexdigest()


def save_lm(path, model: CharLM, recipe: LMRecipe, log: TrainingLog, split: LMSplit, step: int):
    """Write the weights (as float16) and everything needed to check them, to ``path``."""
    info = {
        "recipe": recipe._asdict(),
        "updates": step,
        "updates_total": updates_per_epoch(recipe, len(split.train_ids)) * recipe.epochs,
        "vocab": "".join(split.vocab.chars),
        "corpus_sha256": _corpus_digest(split),
        "command": "make lm",
        "log": log._asdict(),
    }
    arrays = {f"param_{k}": v.astype(np.float16) for k, v in model.params.items()}
    np.savez_compressed(path, info=np.array(json.dumps(info)), **arrays)


class PretrainedLM(NamedTuple):
    """A loaded showcase model with its provenance."""

    model: CharLM
    vocab: CharVocab
    recipe: LMRecipe
    updates: int
    log: TrainingLog


def load_lm(source, dtype=np.float64) -> PretrainedLM:
    """Read a file written by :func:`save_lm` (a path or a binary file object).

    The weights are stored as float16, which float32 and float64 hold
    exactly. The model computes in ``dtype``: float64 by default, so that
    what a chapter prints from it (samples above all, where one rounding
    difference changes a drawn character and everything after it) does not
    depend on the processor's rounding, as float32 results can.
    """
    with np.load(source, allow_pickle=False) as data:
        info = json.loads(str(data["info"]))
        recipe = LMRecipe(**info["recipe"])
        vocab = CharVocab(tuple(info["vocab"]))
        model = new_model(recipe, vocab.size, dtype)
        for name, value in model.params.items():
            stored = data[f"param_{name}"]
            if stored.shape != value.shape:
                raise ValueError(
                    f"stored parameter {name} has shape {stored.shape}, "
                    f"the recipe needs {value.shape}"
                )
            value[...] = stored  # float16 -> the model's dtype, exactly
    return PretrainedLM(model, vocab, recipe, info["updates"], TrainingLog(**info["log"]))


PRETRAINED_FILE = "kjv_lstm.npz"


def load_pretrained_lm(dtype=np.float64) -> PretrainedLM:
    """The showcase model shipped with the package (``course_pkg/pretrained/kjv_lstm.npz``)."""
    path = resources.files("course_pkg") / "pretrained" / PRETRAINED_FILE
    return load_lm(io.BytesIO(path.read_bytes()), dtype)


def main(argv=None) -> None:
    """``python -m course_pkg.experiments.language_model [--out PATH] [--max-updates N]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Train the book's KJV character LSTM.")
    parser.add_argument(
        "--out", default=str(resources.files("course_pkg") / "pretrained" / PRETRAINED_FILE)
    )
    parser.add_argument("--max-updates", type=int, default=None)
    args = parser.parse_args(argv)
    split = kjv_split()

    def checkpoint(model, log, step):
        save_lm(args.out, model, RECIPE, log, split, step)

    train_lm(
        RECIPE,
        split,
        max_updates=args.max_updates,
        every=20,
        held_out_every=500,
        checkpoint=checkpoint,
        report=lambda s: print(s, flush=True),
    )


if __name__ == "__main__":
    main()
