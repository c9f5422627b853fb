"""Small server-rendered SVG charts: no script, nothing fetched; the numbers are in a table
beside each chart, which a screen reader reads instead (the SVG is role="img" with a summary).

A value that is not a number (suppressed, or no figure) leaves a gap in a line and no bar.
"""

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above value (1 for 0)."""
    if value <= 0:
        return 1
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def label(value: float) -> str:
    return f"{value:g}"


def frame(chart_id: str, title: str, summary: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>' + "".join(body) + "</svg>"
    )


def axis(top: float) -> list[str]:
    """Horizontal grid lines at 0, half and the top, labelled."""
    parts = []
    for fraction in (0, 0.5, 1):
        y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{label(top * fraction)}</text>"
        )
    return parts


def line_chart(
    chart_id: str, title: str, labels: list[str], values: list[float | None], unit: str = ""
) -> Markup:
    """A monthly trend: a line through the numbers, a gap where there is none."""
    numbers = [v for v in values if v is not None]
    top = nice_ceiling(max(numbers, default=0))
    step = (WIDTH - LEFT - RIGHT) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return LEFT + i * step, TOP + (HEIGHT - TOP - BOTTOM) * (1 - v / top)

    body = axis(top)
    run: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is not None:
            run.append("{:.1f},{:.1f}".format(*point(i, v)))
            continue
        if len(run) > 1:
            body.append(f'<polyline class="line" points="{" ".join(run)}"/>')
        run = []
    for i, v in enumerate(values):
        if v is not None:
            x, y = point(i, v)
            body.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    for i, text in enumerate(labels):
        if i % 6 == 0 or i == len(labels) - 1:
            x = LEFT + i * step
            body.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
    gaps = len(values) - len(numbers)
    latest = next((v for v in reversed(values) if v is not None), None)
    summary = (
        f"Monthly trend from {labels[0]} to {labels[-1]}"
        + (f"; latest figure {label(latest)}{unit}" if latest is not None else "; no figures")
        + (f"; {gaps} months without a figure shown" if gaps else "")
        + ". The table below gives every figure."
    )
    return frame(chart_id, title, summary, body)


def bar_chart(chart_id: str, title: str, labels: list[str], values: list[float | None]) -> Markup:
    """A distribution: one bar per category, none where there is no number."""
    top = nice_ceiling(max((v for v in values if v is not None), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    body = axis(top)
    base = HEIGHT - BOTTOM
    for i, (text, v) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot
        if v is not None:
            height = (base - TOP) * v / top
            body.append(
                f'<rect class="bar" x="{x + slot * 0.2:.1f}" y="{base - height:.1f}" '
                f'width="{slot * 0.6:.1f}" height="{height:.1f}"/>'
            )
        body.append(
            f'<text class="tick" x="{x + slot / 2:.1f}" y="{base + 18}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    shown = [
        f"{t}: {label(v) if v is not None else 'not shown'}"
        for t, v in zip(labels, values, strict=True)
    ]
    summary = "; ".join(shown) + ". The table below gives every figure."
    return frame(chart_id, title, summary, body)
