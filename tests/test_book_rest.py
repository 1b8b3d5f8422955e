"""Chapters 16-22: predictions(), parameters, the accuracies and the Model.

The reference passes every one of their checks; planted mistakes in a Model (the reference's,
with one method changed) fail the check about them and no other; the pieces the Model checks
rest on (finding a method by what it does, reading printed numbers, replaying steps) do what
they say."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import reference
from oracle import training as T
from oracle.binding import accumulator_methods
from oracle.checks import check_names, run_check
from oracle.settings import Settings
from oracle.spec import SPECS

NEW_CHECKS = [
    (name, check)
    for name in SPECS
    for check in check_names(name)
    if name in ("Accuracy", "Accuracy_Categorical", "Accuracy_Regression", "Model")
    or check in ("predictions", "parameters")
]


@pytest.mark.parametrize(("name", "check"), NEW_CHECKS, ids=[f"{n}-{c}" for n, c in NEW_CHECKS])
def test_the_reference_passes_its_chapter_16_to_22_checks(name: str, check: str) -> None:
    spec = SPECS[name]
    r = run_check(spec, check, spec.reference, namespace={}, settings=Settings(max_examples=10),
                  peers={})
    assert r.status in ("pass", "skip"), r.message


def _floor_train(self: Any, X: Any, y: Any, *, epochs: int = 1, batch_size: Any = None,
                 print_every: int = 1, validation_data: Any = None) -> None:
    n = len(X) if batch_size is None else len(X) // batch_size * batch_size
    reference.Model.train(self, X[:n], y[:n], epochs=epochs, batch_size=batch_size,
                          print_every=print_every, validation_data=validation_data)


def _last_batch_predict(self: Any, X: Any, *, batch_size: Any = None) -> Any:
    out = reference.Model.predict(self, X, batch_size=batch_size)
    if batch_size is None:
        return out
    return out[(len(X) - 1) // batch_size * batch_size:]


def _dropout_evaluate(self: Any, X: Any, y: Any, *, batch_size: Any = None) -> Any:
    forward = self.forward
    self.forward = lambda X, training: forward(X, True)
    try:
        return reference.Model.evaluate(self, X, y, batch_size=batch_size)
    finally:
        del self.forward


def _no_hooks_backward(self: Any, output: Any, y: Any) -> None:
    self.softmax_classifier_output = None  # the shortcut never taken: still correct
    reference.Model.backward(self, output, y)


# Module-level classes, so that save() can pickle them.
class FloorStepsModel(reference.Model):
    train = _floor_train


class LastBatchModel(reference.Model):
    predict = _last_batch_predict


class DropoutEvaluateModel(reference.Model):
    evaluate = _dropout_evaluate


MUTANTS = [
    ("floor steps", FloorStepsModel, "train.batches"),
    ("last batch only", LastBatchModel, "predict"),
    ("dropout in evaluate", DropoutEvaluateModel, "evaluate"),
]


@pytest.mark.parametrize(("what", "cls", "culprit"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_a_planted_model_mistake_fails_its_check_only(what: str, cls: type,
                                                      culprit: str) -> None:
    spec = SPECS["Model"]
    results = {c: run_check(spec, c, cls, namespace={}, settings=Settings(), peers={})
               for c in check_names("Model")}
    failed = {c for c, r in results.items() if r.status == "fail"}
    assert failed == {culprit}, {c: r.message for c, r in results.items() if r.status != "pass"}
    assert "likely cause" in results[culprit].message or results[culprit].details.get("hint")


class NoShortcutModel(reference.Model):
    """A module-level class, so that save() can pickle it."""

    backward = _no_hooks_backward


def test_a_model_without_the_shortcut_is_correct() -> None:
    cls = NoShortcutModel
    spec = SPECS["Model"]
    for c in check_names("Model"):
        r = run_check(spec, c, cls, namespace={}, settings=Settings(), peers={})
        assert r.status in ("pass", "skip"), (c, r.message)


def test_accumulator_methods_are_found_by_what_they_do() -> None:
    class Tally:
        def calculate(self, output: Any, y: Any) -> float:
            losses = np.asarray(output, dtype=float)
            self.total += losses.sum()
            self.seen += len(losses)
            return float(losses.mean())

        def clean(self) -> None:
            self.total = 0.0
            self.seen = 0

        def average(self) -> float:
            return self.total / self.seen

        def keep_layers(self, trainable: Any) -> None:
            self.layers = trainable

        def initialize(self, y: Any) -> None:
            self.precision = np.std(y) / 250

    assert accumulator_methods(Tally) == {"new_pass": "clean", "calculate_accumulated": "average",
                                          "remember_trainable_layers": "keep_layers",
                                          "init": "initialize"}


def test_printed_numbers_keep_their_label_and_precision() -> None:
    found = T.printed_numbers("step: 3, acc: 0.250, loss: 1.099 (data_loss: 1.0, reg_loss: "
                              "0.099), lr: 0.01\nEpoch 2/3 - loss 1.3061 - acc 18.18%")
    assert [(p.label, p.value, p.decimals, p.percent) for p in found] == [
        ("acc", 0.25, 3, False), ("loss", 1.099, 3, False), ("data", 1.0, 1, False),
        ("reg", 0.099, 3, False), ("loss", 1.3061, 4, False), ("acc", 18.18, 2, True)]
    assert T.printed_matches(found[0], 0.2504) and not T.printed_matches(found[0], 0.2506)
    assert T.printed_matches(found[-1], 0.18181818)


def test_the_replay_reproduces_the_reference_models_own_training() -> None:
    session = T.train_session(reference.Model, {}, T.SCENARIOS["classes"], T.BATCH)
    _, y, _, _ = T.data_of(session.scenario)
    replayed = T.replay(session.scenario, session.initial, session.steps, y)
    assert len(session.steps) == T.EPOCHS * 3
    for step, after in zip(session.steps, replayed.after, strict=True):
        for (gw, gb), (ew, eb) in zip(step.after, after, strict=True):
            # the same code on the same arrays; only a sum's association may differ
            np.testing.assert_allclose(gw, ew, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(gb, eb, rtol=1e-12, atol=1e-15)
