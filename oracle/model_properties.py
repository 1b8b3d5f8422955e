"""The Model's checks (chapters 19-22), registered into the same table as every other
property.  Each runs once on fixed networks (:data:`oracle.training.SCENARIOS`): the Model is
given kit parts (the reference's behaviour under the module's class names), so a verdict here
is about the Model's orchestration alone: which samples each step sees, which calls each step
makes, what it leaves in the weights, what it reports, what ``evaluate`` and ``predict``
return, and what its parameter and model files hold.  The last check, ``network``, runs the
Model with the module's own parts, and says which of them make the whole differ.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from oracle import training as T
from oracle.binding import CallError
from oracle.context import Context, Mismatch, NotApplicable
from oracle.properties import _families, check

__all__: list[str] = []

_WEIGHT_RTOL = 1e-7
# The kit computes with the reference's own float64 code on the batches the Model gave it,
# and the replay runs the same code on the same arrays, so a correct Model reproduces it to
# the last bits; 1e-7 only leaves room for a Model that hands its batches over in float32
# (nnfs.init()).  One misplaced step moves a weight by about the learning rate (>= 1e-2).
_WEIGHT_ATOL = 1e-10


def _session(ctx: Context, scenario: str, batch: int | None, **kw: Any) -> T.Session:
    session = T.train_session(ctx.cls, ctx.peers, T.SCENARIOS[scenario], batch, **kw)
    for n in session.notes:
        if n not in ctx.adaptations:
            ctx.adaptations.append(n)
    return session


def _batch(ctx: Context, book: str = "train") -> int | None:
    """The batch size the checks train (evaluate, predict) with: ``BATCH``, or None for a
    chapter-18 Model whose method takes no batch size (said once)."""
    if T.takes_batches(ctx.cls, book):
        return T.BATCH
    note = f"Model.{book}() takes no batch size: checked with one batch of everything"
    if note not in ctx.adaptations:
        ctx.adaptations.append(note)
    return None


def _rows(X: np.ndarray, batch: Any) -> list[int]:
    """The indices in ``X`` of the rows of ``batch`` (-1 for a row that is no sample)."""
    b = np.asarray(batch, dtype=np.float64).reshape(len(batch), -1)
    flat = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    out = []
    for row in b:
        d = np.max(np.abs(flat - row), axis=1)
        j = int(np.argmin(d))
        out.append(j if d[j] <= 1e-6 * (1 + np.max(np.abs(row))) else -1)
    return out


def _steps_per_epoch(n: int, batch: int | None) -> int:
    return 1 if batch is None else -(-n // batch)


def _where(scenario: str, batch: int | None) -> str:
    n = len(T.data_of(T.SCENARIOS[scenario])[0])
    return f"train(X, y, epochs={T.EPOCHS}, batch_size={batch}) on {n} samples ({scenario} network)"


# --------------------------------------------------------------------------- train: batches


@check("train.batches", _families("model"), fixed=True)
def every_sample_once_per_epoch(ctx: Context, seed: int) -> None:
    """Each epoch of train() is ceil(N / batch_size) steps (one without batch_size) whose
    batches hold every training sample exactly once, each at most batch_size samples, each
    sample with its own label; nothing else is trained on."""
    for batch in dict.fromkeys((_batch(ctx), None)):
        session = _session(ctx, "classes", batch)
        X, y, _, _ = T.data_of(session.scenario)
        n, per = len(X), _steps_per_epoch(len(X), batch)
        where = _where("classes", batch)
        if not session.steps:
            raise Mismatch(f"{where} updated no parameters: no step was taken",
                           hint="each step calls optimizer.update_params(layer) for every "
                           "trainable layer (those with weights)")
        seen: list[list[int]] = []
        for k, step in enumerate(session.steps):
            idx = _rows(X, step.X)
            if -1 in idx:
                raise Mismatch(f"{where}: step {k + 1} gave the first layer rows that are not "
                               "training samples", hint="slice the batch from X: "
                               "X[step*batch_size:(step+1)*batch_size]")
            if batch is not None and len(idx) > batch:
                raise Mismatch(f"{where}: step {k + 1} is a batch of {len(idx)} samples, more "
                               f"than batch_size={batch}")
            labels = np.asarray(step.y) if step.y is not None else None
            if labels is not None and (labels.shape[:1] != (len(idx),) or not np.array_equal(
                    labels.reshape(len(idx), -1), np.asarray(y)[idx].reshape(len(idx), -1))):
                raise Mismatch(
                    f"{where}: step {k + 1} trains samples {idx} with labels "
                    f"{labels.ravel().tolist()}, which are not theirs "
                    f"({np.asarray(y)[idx].ravel().tolist()})",
                    hint="slice X and y with the same bounds: batch_y = "
                    "y[step*batch_size:(step+1)*batch_size]")
            seen.append(idx)
        if len(seen) != T.EPOCHS * per:
            short = batch is not None and len(seen) == T.EPOCHS * (n // batch)
            raise Mismatch(
                f"{where} took {len(seen)} steps; expected {T.EPOCHS * per} ({per} per epoch: "
                f"{'ceil' if batch else 'one step of'} {n}"
                f"{f' / {batch}' if batch else ' samples'})",
                hint=("the last, partial batch is dropped: steps = len(X) // batch_size, plus "
                      "1 when samples remain (train_steps * batch_size < len(X))") if short else
                "one step per batch, and one batch of everything when batch_size is None")
        for e in range(T.EPOCHS):
            used = sorted(i for idx in seen[e * per:(e + 1) * per] for i in idx)
            if used != list(range(n)):
                missing = sorted(set(range(n)) - set(used))
                twice = sorted({i for i in used if used.count(i) > 1})
                raise Mismatch(
                    f"{where}: epoch {e + 1} "
                    + (f"never trains samples {missing}" if missing else "")
                    + ("; " if missing and twice else "")
                    + (f"trains samples {twice} more than once" if twice else ""),
                    hint="consecutive slices that do not overlap: "
                    "X[step*batch_size:(step+1)*batch_size] (not X[step:step+batch_size])")


# --------------------------------------------------------------------------- train: calls


@check("train.steps", _families("model"), fixed=True)
def each_step_updates_once(ctx: Context, seed: int) -> None:
    """Each training step runs the layers with training=True (dropout active), calls the
    optimizer's pre_update_params() once, update_params(layer) once for each trainable layer
    (every layer with weights) and post_update_params() once, in that order, so that a
    learning-rate decay follows the steps; train() calls accuracy.init(y) with its labels."""
    for scenario in ("classes", "regression"):
        session = _session(ctx, scenario, _batch(ctx))
        where = _where(scenario, _batch(ctx))
        dense = [f"L{i}" for i in session.scenario.dense]
        for k, step in enumerate(session.steps):
            kinds = [(e.kind, e.role) for e in step.events]
            pre = [i for i, (kd, r) in enumerate(kinds) if kd == "pre_update_params"]
            post = [i for i, (kd, r) in enumerate(kinds) if kd == "post_update_params"]
            updates = [i for i, (kd, r) in enumerate(kinds) if kd == "update_params"]
            updated = [step.events[i].args[0] if step.events[i].args else None
                       for i in updates]
            if len(pre) != 1 or len(post) != 1:
                raise Mismatch(
                    f"{where}: step {k + 1} calls pre_update_params() {len(pre)} times and "
                    f"post_update_params() {len(post)} times; expected once each",
                    hint="once per step, around the loop over the layers: "
                    "pre_update_params(); for layer in trainable_layers: update_params(layer); "
                    "post_update_params() (the decay counts steps, not layers)" if pre or post
                    else "call optimizer.pre_update_params() before and "
                    "optimizer.post_update_params() after the updates: without them the "
                    "learning rate never decays and Adam's bias correction never advances")
            if sorted(map(str, updated)) != sorted(dense):
                missing = [d for d in dense if d not in updated]
                raise Mismatch(
                    f"{where}: step {k + 1} updates layers {updated}; expected each of the "
                    f"trainable layers {dense} once"
                    + (f" (never: {missing})" if missing else ""),
                    hint="trainable_layers holds every layer with weights (hasattr(layer, "
                    "'weights')), and the step updates each of them")
            if not pre[0] < min(updates) or not post[0] > max(updates):
                raise Mismatch(f"{where}: step {k + 1} calls the optimizer's hooks out of "
                               "order", hint="pre_update_params() before the updates, "
                               "post_update_params() after them")
            for role, applied in step.applied.items():
                if not applied:
                    raise Mismatch(
                        f"{where}: in step {k + 1} the dropout layer ({role}) was run without "
                        "dropping anything: the layers were not told they are training",
                        hint="train() runs the forward pass with training=True "
                        "(self.forward(batch_X, training=True))")
        inits = [e for e in session.events if e.kind == "init" and e.role == "accuracy"]
        X, y, _, _ = T.data_of(session.scenario)
        if scenario == "regression" and not inits and T.initialises_accuracy(ctx.peers,
                                                                             session.scenario):
            raise Mismatch(f"{where} never calls accuracy.init(y)",
                           hint="train() starts with self.accuracy.init(y): a regression "
                           "accuracy takes its precision from the training targets")


# --------------------------------------------------------------------------- train: weights


def _worst(got: np.ndarray, exp: np.ndarray) -> tuple[tuple[int, ...], float, float]:
    err = np.abs(np.asarray(got, dtype=np.float64) - exp)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    return idx, float(exp[idx]), float(np.asarray(got)[idx])


def _step_cause(session: T.Session, step: T.Step) -> str:
    """What in a step's calls explains weights that differ from the replay."""
    sc = session.scenario
    last = sc.layers[-1][0]
    if step.shortcut and not (last == "Activation_Softmax"
                              and sc.loss == "Loss_CategoricalCrossentropy"):
        return (f"the combined softmax/cross-entropy backward is used with a {last} output "
                f"and {sc.loss}: take that shortcut only when the last layer is a softmax and "
                "the loss categorical cross-entropy")
    backs = {e.role: e for e in step.events if e.kind == "backward"}
    first_grad = "Activation_Softmax_Loss_CategoricalCrossentropy" if step.shortcut else "loss"
    chain = [f"L{i}" for i in range(len(sc.layers))]
    if step.shortcut:
        chain = chain[:-1]
    for role in chain:
        if role not in backs:
            return (f"layer {role} ({sc.layers[int(role[1:])][0]}) is never run backward in "
                    "the step: every layer's backward, from the last to the first")
    upstream = backs.get(first_grad)
    for j in reversed(range(len(chain))):
        e = backs[chain[j]]
        given = np.asarray(e.args[0]) if e.args else None
        nxt = backs.get(chain[j + 1]) if j + 1 < len(chain) else upstream
        if nxt is None or given is None or nxt.extra.get("dinputs") is None:
            continue
        expected = nxt.extra["dinputs"]
        if given.shape != expected.shape or not np.allclose(given, expected, rtol=1e-12,
                                                            atol=0.0):
            return (f"layer {chain[j]}'s backward is not given the gradient of the layer after "
                    f"it ({chain[j + 1] if j + 1 < len(chain) else first_grad}): "
                    "layer.backward(layer.next.dinputs), with prev/next linked in order")
    return ""


@check("train.weights", _families("model"), fixed=True)
def weights_follow_the_replay(ctx: Context, seed: int) -> None:
    """After every training step the weights are those the reference computes for the same
    batch, labels and dropout masks: forward, loss, backward through every layer (or the
    combined softmax/cross-entropy shortcut), one optimizer step (classification with L2
    and dropout and Adam, binary with SGD and momentum, regression with RMSprop)."""
    b = _batch(ctx)
    for scenario, batch in dict.fromkeys((("classes", b), ("classes", None), ("binary", b),
                                          ("regression", b))):
        session = _session(ctx, scenario, batch)
        _, y, _, _ = T.data_of(session.scenario)
        replayed = T.replay(session.scenario, session.initial, session.steps, y)
        for k, step in enumerate(session.steps):
            for j, ((gw, gb), (ew, eb)) in enumerate(zip(step.after, replayed.after[k],
                                                         strict=True)):
                for what, got, exp in (("weights", gw, ew), ("biases", gb, eb)):
                    if np.allclose(got, exp, rtol=_WEIGHT_RTOL, atol=_WEIGHT_ATOL):
                        continue
                    idx, e, g = _worst(got, exp)
                    cause = _step_cause(session, step)
                    raise Mismatch(
                        f"{_where(scenario, batch)}: the {what} of Dense layer {j + 1} after "
                        f"step {k + 1} differ from the reference's for the same batch; worst "
                        f"at {idx}: expected {e:.8g}, got {g:.8g}",
                        hint=cause or "the step's forward, loss, backward and update differ "
                        "from the book's sequence: forward(training=True), loss.calculate, "
                        "backward(output, y) from the loss to the first layer, "
                        "pre_update_params, update_params per trainable layer, "
                        "post_update_params",
                        details={"worst_index": list(idx)})


# --------------------------------------------------------------------------- train: reports


def _epoch_expectations(session: T.Session, replayed: T.Replayed
                        ) -> list[tuple[float, float, float]]:
    """(data loss, regularization loss at the epoch's end, accuracy) of every epoch."""
    n = len(T.data_of(session.scenario)[0])
    per = _steps_per_epoch(n, session.batch_size)
    out = []
    for e in range(session.epochs):
        steps = range(e * per, (e + 1) * per)
        losses = np.concatenate([np.ravel(replayed.losses[k]) for k in steps])
        comparisons = np.concatenate([np.ravel(replayed.comparisons[k]) for k in steps])
        out.append((float(np.mean(losses)), _regularization(session, replayed.after[steps[-1]]),
                    float(np.mean(comparisons))))
    return out


def _regularization(session: T.Session, weights: list[tuple[np.ndarray, np.ndarray]]) -> float:
    from reference import Layer_Dense, Loss

    total = 0.0
    for i, (w, b) in zip(session.scenario.dense, weights, strict=True):
        layer = Layer_Dense(*session.scenario.layers[i][1], **session.scenario.layers[i][2])
        layer.set_parameters(w, b)
        total += Loss().regularization_loss(layer)
    return total


@check("train.reported", _families("model"), fixed=True)
def reported_values_are_the_epochs(ctx: Context, seed: int) -> None:
    """What train() reports per epoch is the loss and accuracy over that epoch's samples
    (accumulated over its batches, each weighted by its size, from new_pass() at the epoch's
    start), the loss with the regularization loss; each step's printed loss and accuracy
    are that step's.  Read from calculate_accumulated() where the Model calls it, and from
    the numbers it prints."""
    batch = _batch(ctx)
    session = _session(ctx, "classes", batch)
    X, y, _, _ = T.data_of(session.scenario)
    per = _steps_per_epoch(len(X), batch)
    if len(session.steps) != session.epochs * per:
        raise NotApplicable("the steps are not the book's (see train.batches)")
    replayed = T.replay(session.scenario, session.initial, session.steps, y)
    epochs = _epoch_expectations(session, replayed)
    where = _where("classes", batch)
    loss_totals = [e for e in session.events if e.kind == "calculate_accumulated"
                   and e.role == "loss"]
    acc_totals = [e for e in session.events if e.kind == "calculate_accumulated"
                  and e.role == "accuracy"]
    running = _running(replayed, per)
    for totals, label in ((loss_totals, "loss"), (acc_totals, "accuracy")):
        if 0 < len(totals) < session.epochs:
            raise Mismatch(f"{where} reports the accumulated {label} {len(totals)} times for "
                           f"{session.epochs} epochs",
                           hint="the epoch's summary (calculate_accumulated() and its print) "
                           "belongs inside the epoch loop, after the loop over the steps")
        if len(totals) != session.epochs:
            continue
        for e, event in enumerate(totals):
            data, reg, acc = epochs[e]
            got = event.result
            value = float(got[0] if isinstance(got, tuple) else got) if got is not None else None
            expected = data if label == "loss" else acc
            if value is None or np.isclose(value, expected, rtol=1e-9, atol=1e-12):
                continue
            hint = ""
            wrong = running[e][0 if label == "loss" else 1]
            if e > 0 and np.isclose(value, wrong, rtol=1e-9, atol=1e-12):
                hint = ("the accumulated sums are not reset at the start of each epoch: call "
                        "self.loss.new_pass() and self.accuracy.new_pass() inside the epoch loop")
            raise Mismatch(f"{where}: the {label} accumulated over epoch {e + 1} "
                           f"(calculate_accumulated()) is {value:.8g}; expected {expected:.8g}, "
                           "over that epoch's samples", hint=hint)
    _printed_training(session, replayed, epochs, running, where)


def _running(replayed: T.Replayed, per: int) -> list[tuple[float, float]]:
    """Loss and accuracy accumulated from the first step on, at each epoch's end (what a
    Model that never resets its sums reports)."""
    out = []
    for e in range(len(replayed.losses) // per):
        steps = range(0, (e + 1) * per)
        out.append((float(np.mean(np.concatenate([np.ravel(replayed.losses[k]) for k in steps]))),
                    float(np.mean(np.concatenate([np.ravel(replayed.comparisons[k])
                                                  for k in steps])))))
    return out


def _printed_training(session: T.Session, replayed: T.Replayed,
                      epochs: list[tuple[float, float, float]],
                      running: list[tuple[float, float]], where: str) -> None:
    legit: dict[str, list[float]] = {"loss": [], "data": [], "reg": [], "acc": []}
    for k in range(len(replayed.losses)):
        data = float(np.mean(replayed.losses[k]))
        reg = replayed.regularization[k]
        legit["loss"].append(data + reg)
        legit["data"].append(data)
        legit["reg"].append(reg)
        legit["acc"].append(float(np.mean(replayed.comparisons[k])))
    for data, reg, acc in epochs:
        legit["loss"].append(data + reg)
        legit["data"].append(data)
        legit["reg"].append(reg)
        legit["acc"].append(acc)
    steps = len(replayed.losses)
    lines = [ln for ln in session.printed.splitlines() if "valid" not in ln.lower()]
    for p in T.printed_numbers("\n".join(lines)):
        words = p.line.lower()
        # a step's line shows that step; an epoch's summary line shows the epoch
        candidates = legit[p.label]
        if "step" in words or "batch" in words:
            candidates = candidates[:steps]
        elif "train" in words or "epoch" in words:
            candidates = candidates[steps:]
        if any(T.printed_matches(p, v) for v in candidates):
            continue
        what = {"loss": "loss", "data": "data loss", "reg": "regularization loss",
                "acc": "accuracy"}[p.label]
        hint = ""
        if candidates is not legit[p.label] and any(T.printed_matches(p, v)
                                                    for v in legit[p.label]):
            hint = ("the epoch's summary shows one batch's value: report the values "
                    "accumulated over the epoch (calculate_accumulated()), each batch weighted "
                    "by its size" if candidates[0:1] == legit[p.label][steps:steps + 1] else
                    "a step's line shows another step's or the epoch's value")
        elif p.label == "loss" and any(T.printed_matches(p, v) for v in legit["data"]):
            hint = ("the printed loss leaves out the regularization loss: loss = data_loss + "
                    "regularization_loss")
        elif any(T.printed_matches(p, v) for pair in running for v in
                 (pair[0] if p.label in ("loss", "data") else pair[1],)):
            hint = ("the accumulated sums are not reset at the start of each epoch: call "
                    "new_pass() on the loss and the accuracy inside the epoch loop")
        per_epoch = ", ".join(f"{v:.3f}" for v in legit[p.label][-len(epochs):])
        raise Mismatch(f"{where} printed {what} {p.value:g} in the line {p.line.strip()!r}, "
                       f"which is no {what} of any of its steps or epochs (the epochs': "
                       f"{per_epoch})", hint=hint)


# --------------------------------------------------------------------------- evaluate, predict


def _fresh(ctx: Context, scenario: str) -> tuple[T.ModelCalls, T.Parts, T.Recorder]:
    sc = T.SCENARIOS[scenario]
    rec = T.Recorder()
    parts = T.kit_parts(sc, ctx.peers, rec)
    T.set_weights(parts, sc, T.initial_weights(sc))
    notes: list[str] = []
    with T.module_names(ctx.cls, parts.classes, ctx.peers):
        model = T.make_model(ctx.cls, parts, notes)
    rec.events.clear()
    return model, parts, rec


def _forwards(rec: T.Recorder) -> list[T.Event]:
    return [e for e in rec.events if e.kind == "forward" and e.role == "L0"]


def _dropout_on(rec: T.Recorder) -> bool:
    return any(e.extra.get("applied") for e in rec.events if e.kind == "forward")


@check("evaluate", _families("model"), fixed=True)
def evaluate_reports_the_whole_set(ctx: Context, seed: int) -> None:
    """evaluate(X, y, batch_size=...) runs every validation sample once with training=False
    (dropout off), starts from new_pass(), and reports the loss (without regularization) and
    accuracy over all samples, each batch weighted by its size; it changes no weight.  The
    validation train() runs per epoch covers every validation sample alike."""
    _validation_in_training(ctx)
    for scenario in ("classes", "regression"):
        sc = T.SCENARIOS[scenario]
        X, y, Xv, yv = T.data_of(sc)
        for batch in dict.fromkeys((_batch(ctx, "evaluate"), None)):
            model, parts, rec = _fresh(ctx, scenario)
            if not model.has("evaluate"):
                raise NotApplicable("no evaluate()")
            rec.on = False
            parts.accuracy.init(y)
            # what a train() leaves accumulated: an evaluate() that does not start from
            # new_pass() counts it in
            output = T.reference_outputs(sc, T.initial_weights(sc), X)
            parts.loss.calculate(output, y)
            parts.accuracy.calculate(parts.layers[-1].predictions(output), y)
            rec.on = True
            where = f"evaluate(X_val, y_val, batch_size={batch}) on {len(Xv)} samples ({scenario})"
            with T.module_names(ctx.cls, parts.classes, ctx.peers), T.captured() as out:
                returned = model("evaluate", Xv.copy(), yv.copy(), batch_size=batch)
            rec.on = False
            if _dropout_on(rec):
                raise Mismatch(f"{where} ran the dropout layer in training mode",
                               hint="evaluate() runs the forward pass with training=False")
            if any(e.kind == "update_params" for e in rec.events) or not all(
                    np.array_equal(a, b) for now, then in zip(rec.weights(),
                                                              T.initial_weights(sc), strict=True)
                    for a, b in zip(now, then, strict=True)):
                raise Mismatch(f"{where} changed the weights", hint="evaluate() only runs "
                               "forward: no backward, no optimizer")
            used = sorted(i for e in _forwards(rec) for i in _rows(Xv, e.args[0]))
            if used != list(range(len(Xv))):
                missing = sorted(set(range(len(Xv))) - set(used))
                raise Mismatch(
                    f"{where} ran samples {used}; expected each of the {len(Xv)} once"
                    + (f" (never: {missing})" if missing else ""),
                    hint="the last, partial batch is dropped: steps = len(X_val) // "
                    "batch_size, plus 1 when samples remain" if missing and batch else
                    "consecutive, non-overlapping batches over the validation set")
            loss, acc = T.reference_evaluation(sc, T.initial_weights(sc), Xv, yv, y)
            _check_totals(rec, where, loss, acc, returned)
            lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
            for p in T.printed_numbers("\n".join(lines)):
                expected = {"loss": loss, "data": loss, "acc": acc}.get(p.label)
                if expected is None or T.printed_matches(p, expected):
                    continue
                raise Mismatch(
                    f"{where} printed {p.label} {p.value:g} in {p.line.strip()!r}; expected "
                    f"{expected:.6g} over all {len(Xv)} samples",
                    hint="print the values accumulated over the batches "
                    "(calculate_accumulated()), not the last batch's")


def _check_totals(rec: T.Recorder, where: str, loss: float, acc: float, returned: Any) -> None:
    for role, expected in (("loss", loss), ("accuracy", acc)):
        totals = [e for e in rec.events if e.kind == "calculate_accumulated" and e.role == role]
        if not totals:
            continue
        got = totals[-1].result
        value = float(got[0] if isinstance(got, tuple) else got)
        if not np.isclose(value, expected, rtol=1e-9, atol=1e-12):
            passes = [e for e in rec.events if e.kind == "new_pass" and e.role == role]
            raise Mismatch(
                f"{where}: the {role} over the validation set (calculate_accumulated()) is "
                f"{value:.8g}; expected {expected:.8g}",
                hint="" if passes else f"evaluate() starts with self.{role}.new_pass(): "
                "without it, what was accumulated before is counted in")


def _validation_in_training(ctx: Context) -> None:
    """train(..., validation_data=...) runs the whole validation set, every sample as often
    as any other (once per epoch in the book), with training=False."""
    batch = _batch(ctx)
    try:
        session = _session(ctx, "classes", batch, validation=True)
    except CallError:
        return  # train() takes no validation data (the chapter-18 form)
    _, _, Xv, _ = T.data_of(session.scenario)
    step_starts = {id(step.events[0]) for step in session.steps}
    used: list[int] = []
    for e in session.events:
        if e.kind != "forward" or e.role != "L0" or id(e) in step_starts:
            continue
        rows = _rows(Xv, e.args[0])
        if -1 in rows:
            continue
        used.extend(rows)
        if e.training:
            raise Mismatch("train(..., validation_data=...) runs the validation data with "
                           "training=True", hint="validation runs forward with training=False")
    if not used:
        raise Mismatch("train(..., validation_data=(X_val, y_val)) never runs the validation "
                       "data", hint="after each epoch: self.evaluate(*validation_data, "
                       "batch_size=batch_size)")
    counts = [used.count(i) for i in range(len(Xv))]
    if len(set(counts)) != 1:
        raise Mismatch(
            f"train(X, y, epochs={T.EPOCHS}, batch_size={batch}, validation_data=(X_val, "
            f"y_val)) runs the {len(Xv)} validation samples unequally: counts {counts}",
            hint="the validation inside train() goes through every validation batch: "
            "self.evaluate(*validation_data, batch_size=batch_size), with its own step count")


@check("predict", _families("model"), fixed=True)
def predict_returns_every_output(ctx: Context, seed: int) -> None:
    """predict(X, batch_size=...) returns the network's outputs for every sample, in order,
    stacked into one (samples, outputs) array, with dropout off."""
    sc = T.SCENARIOS["classes"]
    _, _, Xv, _ = T.data_of(sc)
    expected = T.reference_outputs(sc, T.initial_weights(sc), Xv)
    for batch in dict.fromkeys((T.BATCH, 3, None) if _batch(ctx, "predict") else (None,)):
        model, parts, rec = _fresh(ctx, "classes")
        if not model.has("predict"):
            raise NotApplicable("no predict()")
        where = f"predict(X, batch_size={batch}) on {len(Xv)} samples"
        with T.module_names(ctx.cls, parts.classes, ctx.peers), T.captured():
            got = model("predict", Xv.copy(), batch_size=batch)
        rec.on = False
        if _dropout_on(rec):
            raise Mismatch(f"{where} ran the dropout layer in training mode",
                           hint="predict() runs the forward pass with training=False")
        g = np.asarray(got, dtype=np.float64) if got is not None else None
        if g is None or g.shape != expected.shape:
            shape = None if g is None else g.shape
            hint = "return np.vstack(output): the batches' outputs stacked in order"
            if g is not None and batch and g.ndim == 2 and g.shape[0] == len(Xv) - len(Xv) % batch:
                hint = ("the last, partial batch is dropped: steps = len(X) // batch_size, "
                        "plus 1 when samples remain")
            elif g is not None and batch and g.shape[0] == len(Xv) % batch or (
                    g is not None and batch and g.shape[0] == batch):
                hint = ("only one batch's output is returned: append each batch's output to a "
                        "list, then np.vstack it")
            raise Mismatch(f"{where} returned {type(got).__name__} of shape {shape}; expected "
                           f"{expected.shape}", hint=hint)
        if not np.allclose(g, expected, rtol=_WEIGHT_RTOL, atol=_WEIGHT_ATOL):
            idx, e, v = _worst(g, expected)
            raise Mismatch(f"{where}: output differs; worst at {idx}: expected {e:.8g}, got "
                           f"{v:.8g}", hint="the rows of each batch in order: "
                           "X[step*batch_size:(step+1)*batch_size]")


# --------------------------------------------------------------------------- parameters, files


@check("parameters", _families("model"), fixed=True)
def parameters_round_trip(ctx: Context, seed: int) -> None:
    """get_parameters() is one (weights, biases) per trainable layer, in order;
    set_parameters() puts them back; save_parameters()/load_parameters() carry them to
    another model through a file; save() leaves the model it saves unchanged, and load()
    returns a model that predicts the same."""
    sc = T.SCENARIOS["classes"]
    model, parts, rec = _fresh(ctx, "classes")
    rec.on = False
    init = T.initial_weights(sc)
    if not model.has("get_parameters") and not model.has("save"):
        raise NotApplicable("no get_parameters() and no save() (chapters before 21)")
    new = [(w * -0.7 + 0.1, b + 0.3) for w, b in init]
    _, _, Xv, _ = T.data_of(sc)
    with T.module_names(ctx.cls, parts.classes, ctx.peers), T.captured(), \
            tempfile.TemporaryDirectory(prefix="nnfs-oracle-") as tmp:
        if model.has("get_parameters"):
            got = model("get_parameters")
            _same_parameters("get_parameters()", got, init)
        if model.has("set_parameters"):
            model("set_parameters", [(np.array(w), np.array(b)) for w, b in new])
            _same_parameters("the layers' parameters after set_parameters()",
                             T.get_weights(parts, sc), new)
        else:
            T.set_weights(parts, sc, new)
        if model.has("save_parameters") and model.has("load_parameters"):
            path = os.path.join(tmp, "model.parms")
            model("save_parameters", path)
            other, other_parts, _ = _fresh(ctx, "classes")
            other("load_parameters", path)
            _same_parameters("parameters loaded by load_parameters() from the file "
                             "save_parameters() wrote", T.get_weights(other_parts, sc), new)
        if model.has("save") and model.has("load") and model.has("predict"):
            before = model("predict", Xv.copy())
            state = _state(parts)
            path = os.path.join(tmp, "model.model")
            model("save", path)
            changed = [k for k, v in state.items() if _state(parts).get(k) != v]
            _saved_without_data(path)
            if changed:
                raise Mismatch(f"save() changed the model it saved: {', '.join(changed[:4])}",
                               hint="save a copy: model = copy.deepcopy(self), and strip that "
                               "copy's data and gradients, not the live model's")
            load: Any = getattr(type(model.obj), "load", None)
            loaded = load(path) if callable(load) and isinstance(
                vars(type(model.obj)).get("load"), (staticmethod, classmethod)) else \
                model("load", path)
            if loaded is None:
                raise Mismatch("load(path) returned None; expected the model it read",
                               hint="return the unpickled model (Model.load is a static "
                               "method: model = Model.load(path))")
            after = T.ModelCalls(loaded, [])("predict", Xv.copy())
            if not np.allclose(np.asarray(after, dtype=np.float64), np.asarray(before),
                               rtol=_WEIGHT_RTOL, atol=_WEIGHT_ATOL):
                raise Mismatch("the model load() returns predicts differently from the model "
                               "save() wrote")


_DATA = ("inputs", "output", "dinputs", "dweights", "dbiases")


def _saved_without_data(path: str) -> None:
    """The model file holds the network, not the last batch's data and gradients (the book's
    save() strips them from the copy it pickles)."""
    import pickle

    with open(path, "rb") as f:
        saved = pickle.load(f)
    kept: list[str] = []
    for value in vars(saved).values():
        for obj in value if isinstance(value, list) else []:
            kept.extend(f"{type(obj).__name__}.{k}" for k in _DATA
                        if k in getattr(obj, "__dict__", {}))
    if kept:
        raise Mismatch(f"the file save() writes still holds {', '.join(kept[:4])}"
                       f"{' ...' if len(kept) > 4 else ''}: the last batch's data and gradients",
                       hint="pickle the cleaned copy: model = copy.deepcopy(self); remove "
                       "inputs, output, dinputs, dweights, dbiases from model's layers; "
                       "pickle.dump(model, f)")


def _state(parts: T.Parts) -> dict[str, Any]:
    """Which attributes each part holds (what a save() that strips the live model removes)."""
    out: dict[str, Any] = {}
    for i, obj in enumerate([*parts.layers, parts.loss, parts.accuracy]):
        for k, v in vars(obj).items():
            out[f"{type(obj).__name__}[{i}].{k}"] = (type(v).__name__, np.shape(v)) \
                if isinstance(v, np.ndarray) else type(v).__name__
    return out


def _same_parameters(what: str, got: Any, expected: list[tuple[np.ndarray, np.ndarray]]) -> None:
    try:
        pairs = [(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
                 for w, b in got]
    except (TypeError, ValueError):
        raise Mismatch(f"{what} is {type(got).__name__}; expected a list of (weights, biases), "
                       "one per trainable layer") from None
    if len(pairs) != len(expected):
        raise Mismatch(f"{what} has {len(pairs)} entries; expected {len(expected)}, one per "
                       "trainable layer (those with weights)")
    for j, ((gw, gb), (ew, eb)) in enumerate(zip(pairs, expected, strict=True)):
        for name, g, e in (("weights", gw, ew), ("biases", gb, eb)):
            if g.shape != e.shape or not np.allclose(g, e, rtol=_WEIGHT_RTOL, atol=_WEIGHT_ATOL):
                rev = list(reversed(expected))
                hint = ("the layers are listed last first: keep the order of "
                        "self.trainable_layers") if len(pairs) > 1 and all(
                    p[0].shape == r[0].shape and np.allclose(p[0], r[0])
                    for p, r in zip(pairs, rev, strict=True)) else ""
                raise Mismatch(f"{what}: entry {j}'s {name} differ from trainable layer {j}'s "
                               f"(shape {g.shape}, expected {e.shape})", hint=hint)


# --------------------------------------------------------------------------- the whole network


@check("network", _families("model"), fixed=True)
def network_with_own_parts(ctx: Context, seed: int) -> None:
    """The Model with the module's own layers, loss, optimizer and accuracy trains to the
    reference network's weights; when it does not, the parts that make it differ are named
    (each is judged by its own checks), and the Model is at fault only when the reference
    Model with the same parts agrees."""
    sc = T.SCENARIOS["classes"].without_dropout()
    used = {b for b, _, _ in sc.layers} | {sc.loss, sc.optimizer[0], sc.accuracy[0]}
    own = {b: c for b, c in ctx.peers.items() if b in used and isinstance(c, type)}
    if not own:
        raise NotApplicable("the module has no classes of its own besides the Model")
    X, y, _, _ = T.data_of(sc)
    expected = _trained(ref_model=True, ctx=ctx, sc=sc, peers={}, X=X, y=y)
    tol = (1e-3, 1e-6) if ctx.patched else (1e-6, 1e-9)  # float32 parts: rounding grows
    #      through 6 Adam steps; float64 parts differ from the reference only in summation
    raised: Exception | None = None
    try:
        theirs = _trained(ref_model=False, ctx=ctx, sc=sc, peers=own, X=X, y=y)
    except _PartsUnusable as e:
        raise NotApplicable(f"the module's parts cannot be put together as the book's: {e}"
                            ) from None
    except Exception as e:  # a part or the Model raised: which one is found below
        raised, theirs = e, None
    if theirs is not None and _close(theirs, expected, tol):
        return
    try:
        with_ref_model = _trained(ref_model=True, ctx=ctx, sc=sc, peers=own, X=X, y=y)
    except Exception:
        with_ref_model = None
    culprits = []
    for book in own:
        try:
            alone = _trained(ref_model=True, ctx=ctx, sc=sc, peers={book: own[book]}, X=X, y=y)
        except Exception:
            culprits.append(book)
            continue
        if not _close(alone, expected, tol):
            culprits.append(book)
    if with_ref_model is not None and _close(with_ref_model, expected, tol) and not culprits:
        if raised is not None:
            raise raised
        raise Mismatch("with the module's own classes, the weights after train() differ from "
                       "the reference network's, although the book's Model with the same "
                       "classes agrees: the Model relies on something of its parts the book's "
                       "interface does not give")
    what = (f"train() raises {type(raised).__name__}" if raised is not None
            else "the network trains to other weights than the reference's")
    ctx.note(f"with the module's own classes {what}; the parts that make it differ: "
             f"{', '.join(culprits) or 'none alone (several together)'} (see their checks)")


class _PartsUnusable(Exception):
    """The module's classes cannot be built as the book's network (said as a skip)."""


def _trained(*, ref_model: bool, ctx: Context, sc: T.Scenario, peers: dict[str, type],
             X: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from reference import Model

    try:
        parts = T.own_parts(sc, peers)
        T.set_weights(parts, sc, T.initial_weights(sc))
    except Exception as e:
        raise _PartsUnusable(str(e)) from None
    with T.captured():
        if ref_model:
            model = T.make_model(Model, parts, [])
        else:
            model = T.make_model(ctx.cls, parts, [])
        model("train", X.copy(), y.copy(), epochs=T.EPOCHS)
    return T.get_weights(parts, sc)


def _close(a: list[tuple[np.ndarray, np.ndarray]], b: list[tuple[np.ndarray, np.ndarray]],
           tol: tuple[float, float]) -> bool:
    return all(x.shape == z.shape and np.allclose(x, z, rtol=tol[0], atol=tol[1])
               for p, q in zip(a, b, strict=True) for x, z in zip(p, q, strict=True))
