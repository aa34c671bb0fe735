"""What makes a notice look like the phishing that follows a breach: links, attachments, credential requests.

Pure functions over rendered text, used by the checks. Link rules: only ``http(s)`` links to the
incident's allowed domains (and their subdomains) and the verification site, ``mailto:`` and
``tel:``; never a link shortener, never an embedded file or a link to a file customers would open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SHORTENERS = _words(
    "bit.ly bitly.com tinyurl.com t.co goo.gl ow.ly is.gd buff.ly rebrand.ly cutt.ly s.id t.ly tiny.cc "
    "rb.gy shorturl.at bl.ink lnkd.in v.gd qr.net soo.gd x.co clck.ru u.to vk.cc short.io tiny.one "
    "shorte.st adf.ly trib.al dlvr.it fb.me amzn.to surl.li shorturl.com tr.im cli.gs po.st mcaf.ee su.pr "
    "twurl.nl db.tt qr.ae bc.vc ity.im q.gs lc.chat 1url.com hyperurl.co urlz.fr shrtco.de kutt.it"
)
FILE_EXTENSIONS = _words(
    "zip rar 7z gz tgz tar bz2 xz cab arj ace iso img vhd vhdx dmg exe msi msix appx scr bat cmd com pif "
    "cpl js jse vbs vbe wsf wsh hta ps1 psm1 jar apk xapk lnk reg dll sys html htm shtml xhtml mht mhtml "
    "svg docm xlsm pptm dotm xltm one"
)
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "background", "poster", "cite", "data", "longdesc", "xlink:href"}
)
BLOCK_ELEMENTS = _words(
    "address article aside blockquote br dd div dl dt footer h1 h2 h3 h4 h5 h6 header hr li main nav ol p "
    "pre section table tbody td tfoot th thead title tr ul"
)
FORBIDDEN_ELEMENTS = frozenset({"script", "iframe", "frame", "object", "embed", "form", "input", "button", "textarea"})

_SCHEME_URL = re.compile(
    r"(?<![\w.-])(?:(?:https?|ftp|file)://|(?:data|javascript|cid|mailto|tel):|www\.)[^\s<>\"'()]+", re.IGNORECASE
)
_BARE_DOMAIN = re.compile(
    r"(?<![@\w./:-])((?:[a-z0-9-]+\.)+([a-z]{2,24}))(?![\w@-]|\.\w)(/[^\s<>\"'()]*)?", re.IGNORECASE
)
GENERIC_TLDS = _words(
    "com net org info biz app dev online site link click xyz top shop live store support help cloud email"
)
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    url: str
    where: str  # "href", "src", "text", …


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self.elements: list[str] = []
        self.downloads: list[str] = []
        self.text_parts: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_ELEMENTS:
            self.elements.append(tag)
        if tag in BLOCK_ELEMENTS:
            self.text_parts.append("\n")
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                if name == "download":
                    self.downloads.append(tag)
                continue
            if name in URL_ATTRIBUTES:
                self.links.append(Link(value.strip(), name))
            elif name == "srcset":
                self.links.extend(Link(item.split()[0], name) for item in value.split(",") if item.strip())
            elif name == "style":
                self.links.extend(Link(url.strip(), "style") for url in _CSS_URL.findall(value))
            if name == "download":
                self.downloads.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if tag in BLOCK_ELEMENTS:
            self.text_parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.links.extend(Link(url.strip(), "style") for url in _CSS_URL.findall(data))
        else:
            self.text_parts.append(data)


@dataclass(frozen=True)
class HtmlScan:
    links: list[Link]
    forbidden_elements: list[str]
    downloads: list[str]
    text: str


def scan_html(html: str) -> HtmlScan:
    """Links (attributes, CSS and bare URLs in the text), forbidden elements and the visible text."""
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    text = "".join(collector.text_parts)
    links = collector.links + text_links(text)
    return HtmlScan(links, sorted(set(collector.elements)), collector.downloads, text)


def _looks_like_domain(match: re.Match[str]) -> bool:
    """A bare ``name.tld`` is a link when it has a path, a generic TLD, or a country TLD after a real name
    (so that abbreviations like "t.ex." are not taken for domains)."""
    labels = match.group(1).lower().split(".")
    tld = match.group(2).lower()
    if match.group(3) or tld in GENERIC_TLDS:
        return True
    return len(tld) == 2 and len(labels[-2]) >= 3


def text_links(text: str) -> list[Link]:
    """URLs and bare domain names written in plain text."""
    links = [Link(m.group(0).rstrip(".,;:!?"), "text") for m in _SCHEME_URL.finditer(text)]
    without = _SCHEME_URL.sub(" ", text)
    links += [
        Link(m.group(0).rstrip(".,;:!?"), "text") for m in _BARE_DOMAIN.finditer(without) if _looks_like_domain(m)
    ]
    return links


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in (d.lower().strip(".") for d in allowed))


@dataclass(frozen=True)
class LinkVerdict:
    link: Link
    problem: str  # "" when fine; else "scheme", "embedded", "domain", "shortener", "file", "relative"
    host: str = ""


def judge_link(link: Link, allowed: Iterable[str]) -> LinkVerdict:
    """Whether one link may appear in a notice, and what is wrong with it if not."""
    url = link.url.strip()
    if not url or url.startswith("#"):
        return LinkVerdict(link, "")
    lowered = url.lower()
    if lowered.startswith(("mailto:", "tel:")):
        return LinkVerdict(link, "")
    if lowered.startswith(("data:", "cid:")):
        return LinkVerdict(link, "embedded")
    if "://" not in url and not url.startswith("//"):
        if re.match(r"^[a-z][a-z0-9+.-]*:", lowered):
            return LinkVerdict(link, "scheme")
        if link.where != "text":
            return LinkVerdict(link, "relative")
        url = "https://" + url
    parts = urlsplit(url if not url.startswith("//") else "https:" + url)
    if parts.scheme.lower() not in ("http", "https"):
        return LinkVerdict(link, "scheme")
    host = (parts.hostname or "").lower()
    if host in SHORTENERS or any(host.endswith("." + s) for s in SHORTENERS):
        return LinkVerdict(link, "shortener", host)
    if not host_allowed(host, allowed):
        return LinkVerdict(link, "domain", host)
    suffix = PurePosixPath(unquote(parts.path)).suffix.lower().lstrip(".")
    if suffix in FILE_EXTENSIONS:
        return LinkVerdict(link, "file", host)
    return LinkVerdict(link, "", host)


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
