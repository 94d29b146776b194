"""Parameter counts for notebooks and logs: what trains and what is frozen, per top-level part."""


def _count(params):
    trainable = frozen = 0
    for p in params:
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    return {"trainable": trainable, "frozen": frozen}


def param_counts(model):
    """{"total": {...}, "<child>": {...}} with trainable and frozen parameter counts."""
    counts = {"total": _count(model.parameters())}
    for name, child in model.named_children():
        counts[name] = _count(child.parameters())
    return counts


def model_summary(model):
    """A few lines: trainable/frozen parameters in total and per part (encoder, proj, rnn, head)."""
    lines = [f"{'part':<10}{'trainable':>14}{'frozen':>14}"]
    for name, c in param_counts(model).items():
        lines.append(f"{name:<10}{c['trainable']:>14,}{c['frozen']:>14,}")
    return "\n".join(lines)
