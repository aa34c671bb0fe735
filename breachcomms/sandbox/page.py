"""The sandbox's one HTML page: counts and the latest messages, every value escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;
vertical-align:top}th{background:#f4f4f4}.counts{width:auto}.counts td{border:0;padding:.1rem 1rem .1rem 0}
.text{white-space:pre-wrap;max-width:40rem;max-height:6rem;overflow:auto;font-size:12px}
nav a{margin-right:1rem}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'"


def render_page(counts: Mapping[str, int], stats: Mapping[str, int], messages: Sequence[Mapping[str, Any]],
                channel: str, backlog: int) -> bytes:  # fmt: skip
    """The page; ``messages`` come newest first."""
    count_rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{value:,}</td></tr>"
        for name, value in [*counts.items(), ("webhooks waiting", backlog), *stats.items()]
    )
    rows = "".join(_row(message) for message in messages) or '<tr><td colspan="6">No messages yet.</td></tr>'
    shown = {"": "all", "email": "email", "sms": "SMS"}
    nav = " ".join(
        f'<a href="/?channel={key}">{label}</a>' if key != channel else f"<strong>{label}</strong>"
        for key, label in shown.items()
    )
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Provider sandbox</title><style>{STYLE}</style></head><body>
<h1>Provider sandbox</h1>
<p>SendGrid and Twilio as the demo and the tests see them: what was accepted, and what was reported back.
JSON: <a href="/sandbox/messages">/sandbox/messages</a>, <a href="/sandbox/stats">/sandbox/stats</a>,
<a href="/sandbox/config">/sandbox/config</a>.</p>
<table class="counts">{count_rows}</table>
<h2>Latest messages</h2><nav>{nav}</nav>
<table><thead><tr><th>#</th><th>Channel</th><th>To</th><th>Delivery</th><th>Outcome</th><th>Message</th></tr>
</thead><tbody>{rows}</tbody></table></body></html>"""
    return html.encode()


def _row(message: Mapping[str, Any]) -> str:
    if message["channel"] == "email":
        content = f"<strong>{escape(message['subject'])}</strong>\n{escape(message['text'] or message['html'])}"
    else:
        content = escape(message["body"])
    return (
        f"<tr><td>{int(message['id'])}</td><td>{escape(message['channel'])}</td><td>{escape(message['to'])}</td>"
        f"<td>{escape(message['delivery_id'])}</td><td>{escape(message['outcome'])}</td>"
        f'<td><div class="text">{content}</div></td></tr>'
    )
