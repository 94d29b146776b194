"""The report's HTML: an index of every video and one page per video. Plain HTML, inline CSS and
a few lines of inline JS (no library, no CDN): the pages open from disk in any browser, offline."""
import json
from html import escape

STYLE = """<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th.sort{cursor:pointer;background:#eef}th.sort:after{content:" \\2195";color:#888}
td.num{text-align:right;font-variant-numeric:tabular-nums}.fake{color:#b00;font-weight:bold}
.note{color:#555;font-size:.9em;max-width:60em}.reason{color:#a60;font-weight:bold}
.win{display:flex;gap:1.2em;align-items:flex-start;flex-wrap:wrap}figure{margin:.6em 0}figcaption{font-size:.9em;color:#444}img{max-width:100%}
</style>"""

# Written on <body> once every image has loaded (or failed): "loaded/total", so a headless
# browser's --dump-dom shows whether the pictures are really there.
IMAGE_CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
</script>"""

# Click a header to sort by it; numbers sort by their data-value, a second click reverses.
SORT_TABLE = """<script>
function sortBy(th) {
  var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
  var desc = th.getAttribute("data-desc") !== "1";
  th.setAttribute("data-desc", desc ? "1" : "0");
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = a.cells[col].getAttribute("data-value"), y = b.cells[col].getAttribute("data-value");
    var nx = parseFloat(x), ny = parseFloat(y), c;
    if (!isNaN(nx) && !isNaN(ny)) c = nx - ny; else c = String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
</script>"""


def page(title, body):
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"{STYLE}</head>\n<body>\n{body}\n{IMAGE_CHECK}\n</body></html>\n")


def _fmt(value, digits=3):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def label_word(label):
    return {1: "FAKE", 0: "REAL"}.get(label, "")


def key_value_table(mapping):
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(v if isinstance(v, str) else json.dumps(v, default=str))}</td></tr>"
                   for k, v in mapping.items())
    return f"<table>{rows}</table>"


def index_html(rows, meta, metrics=None, plots=(), notes=()):
    """rows: dicts with name, prob, reason, label, face_rate, page (relative link or None)."""
    head = ("<tr><th class=sort onclick=sortBy(this)>#</th><th class=sort onclick=sortBy(this)>video</th>"
            "<th class=sort onclick=sortBy(this)>P(fake)</th><th class=sort onclick=sortBy(this)>label</th>"
            "<th class=sort onclick=sortBy(this)>reason</th><th class=sort onclick=sortBy(this)>face rate</th></tr>")
    body_rows = []
    for i, r in enumerate(sorted(rows, key=lambda r: -r["prob"]), 1):
        name = escape(r["name"])
        link = f"<a href=\"{escape(r['page'])}\">{name}</a>" if r["page"] else name
        cls = " fake" if r["prob"] >= 0.5 else ""
        body_rows.append(
            f"<tr class=video><td class=num data-value={i}>{i}</td><td data-value=\"{name}\">{link}</td>"
            f"<td class=\"num{cls}\" data-value=\"{r['prob']:.6f}\">{r['prob']:.3f}</td>"
            f"<td data-value=\"{label_word(r['label'])}\">{label_word(r['label'])}</td>"
            f"<td class=reason data-value=\"{escape(r['reason'])}\">{escape(r['reason'])}</td>"
            f"<td class=num data-value=\"{'' if r['face_rate'] is None else r['face_rate']}\">{_fmt(r['face_rate'], 2)}</td></tr>")
    parts = [f"<h1>Deepfake report: {len(rows)} videos</h1>",
             "<p class=note>Sorted by P(fake), highest first; click a column header to sort by it. "
             "A reason means the video could not be scored and got the fallback probability.</p>",
             f"<table id=videos><thead>{head}</thead><tbody>{''.join(body_rows)}</tbody></table>"]
    if metrics:
        parts += ["<h2>Metrics (videos with known labels)</h2>", key_value_table(metrics)]
    if plots:
        parts.append("<p>" + "".join(f"<img src=\"{escape(src)}\" alt=\"{escape(alt)}\" width=420> " for src, alt in plots) + "</p>")
    parts += ["<h2>Model</h2>", key_value_table(meta)]
    parts += [f"<p class=note>{escape(n)}</p>" for n in notes]
    return page("Deepfake report", "\n".join(parts) + SORT_TABLE)


HEATMAP_NOTE = ("A Grad-CAM heatmap shows where, in the last convolutional block of a stream, the evidence "
                "that raised P(fake) for this clip was found (red: most). It shows where the model looked, "
                "not that the region is manipulated: a confident mistake has a heatmap too. One colour "
                "scale per clip and stream.")


def video_html(record, timeline, windows, note=""):
    """windows: dicts with title, frame (src or None), faces (src), cams [(stream title, src)]."""
    r = record
    facts = {"P(fake)": f"{r.prob:.3f}", "true label": label_word(r.label) or "unknown",
             "face rate": _fmt(r.face_rate, 2) or "n/a", "windows scored": 0 if r.window_probs is None else len(r.window_probs)}
    parts = ["<p><a href=\"../index.html\">&larr; all videos</a></p>", f"<h1>{escape(r.name)}</h1>", key_value_table(facts)]
    if not r.scored:
        parts.append(f"<p class=reason>Not scored: {escape(r.reason)}. It was given the fallback P(fake) "
                     f"{r.prob:.3f}; there is nothing for a heatmap to explain.</p>")
    if timeline:
        parts.append(f"<figure><img src=\"{escape(timeline)}\" alt=\"P(fake) timeline\" width=720>"
                     "<figcaption>P(fake) of each window, drawn over its frames.</figcaption></figure>")
    if windows:
        parts.append(f"<h2>The windows that drove the score</h2><p class=note>{escape(HEATMAP_NOTE)}</p>")
    if note:
        parts.append(f"<p class=note>{escape(note)}</p>")
    for w in windows:
        parts.append(f"<h3>{escape(w['title'])}</h3><div class=win>")
        if w["frame"]:
            parts.append(f"<figure><img src=\"{escape(w['frame'])}\" alt=\"source frame\">"
                         "<figcaption>Source frame (window's middle step),<br>face crop region in green.</figcaption></figure>")
        else:
            parts.append("<p class=note>The source frame could not be decoded.</p>")
        parts.append(f"<div><figure><img src=\"{escape(w['faces'])}\" alt=\"face crops\">"
                     "<figcaption>Face crops as the model saw them, in time order.</figcaption></figure>")
        for title, src in w["cams"]:
            parts.append(f"<figure><img src=\"{escape(src)}\" alt=\"Grad-CAM {escape(title)}\">"
                         f"<figcaption>Grad-CAM, {escape(title)}.</figcaption></figure>")
        parts.append("</div></div>")
    return page(r.name, "\n".join(parts))
