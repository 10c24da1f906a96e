"""The Teams app package: appPackage/ filled in for one bot registration, as a zip.

`appPackage/manifest.json` and its English localisation are templates: `${{BOT_ID}}`
(the Azure Bot's Microsoft App ID, also the app's id) and `${{BOT_DOMAIN}}` (the host
Teams reaches the bot on) are filled in here. The two icons are drawn here too, so the
package needs no design tool: `color.png` 192x192 (white bars and a trend line on the
accent colour) and `outline.png` 32x32 (the same mark, white on transparent, as Teams
asks).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGE = ROOT / "appPackage"
TEMPLATES = ("manifest.json", "en-us.json")
ICONS = {"color.png": 192, "outline.png": 32}
ACCENT = (27, 110, 243)  # "#1B6EF3", the manifest's accentColor
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class PackageError(ValueError):
    """A value the package cannot be built with; the message is one line for a person."""


def check_bot_id(bot_id: str) -> str:
    if not bot_id:
        raise PackageError("no bot id: pass --bot-id or set MicrosoftAppId (the Azure Bot's "
                           "Microsoft App ID)")  # fmt: skip
    if not _GUID.match(bot_id):
        raise PackageError(f"--bot-id {bot_id!r} is not a Microsoft App ID (a GUID such as "
                           "00000000-0000-0000-0000-000000000000)")  # fmt: skip
    return bot_id.lower()


def check_domain(domain: str) -> str:
    """The bare host name (no scheme, port or path), as Teams' validDomains wants it."""
    host = re.sub(r"^https?://", "", (domain or "").strip().lower()).split("/")[0]
    if not host or host.startswith("localhost") or ":" in host:
        raise PackageError(
            "no public domain: pass --domain HOST or set COMMERCY_PUBLIC_URL to the bot's "
            f"https address (got {domain!r}; Teams needs a public host name, no port)"
        )
    if not _HOST.match(host):
        raise PackageError(f"--domain {domain!r} is not a host name such as "
                           "commercy.azurewebsites.net")  # fmt: skip
    return host


def filled(template: str, *, bot_id: str, domain: str) -> str:
    text = template.replace("${{BOT_ID}}", bot_id).replace("${{BOT_DOMAIN}}", domain)
    left = re.findall(r"\$\{\{(\w+)\}\}", text)
    if left:
        raise PackageError(f"the template has placeholders nothing fills: {', '.join(left)}")
    return text


def build_package(out: Path, *, bot_id: str, domain: str, source: Path = APP_PACKAGE) -> Path:
    """Write the zip Teams sideloads: the manifest, its localisation and the two icons,
    all at the root of the archive."""
    bot_id, domain = check_bot_id(bot_id), check_domain(domain)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in TEMPLATES:
            text = filled((source / name).read_text(encoding="utf-8"), bot_id=bot_id,
                          domain=domain)  # fmt: skip
            json.loads(text)  # a template broken by hand fails here, not in Teams
            archive.writestr(name, text)
        for name in ICONS:
            archive.writestr(name, (source / name).read_bytes())
    return out


# --- Icons ------------------------------------------------------------------------------


def _mark(size: int, scale: int = 4):
    """Three rising bars and a trend line above them, white, drawn large and scaled down
    so the edges are smooth. Returns the mark as an alpha mask (Pillow "L" image)."""
    from PIL import Image, ImageDraw

    big = size * scale
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    margin, gap = big * 0.22, big * 0.06
    width = (big - 2 * margin - 2 * gap) / 3
    floor = big - margin
    for i, height in enumerate((0.22, 0.34, 0.46)):
        left = margin + i * (width + gap)
        draw.rounded_rectangle(
            (left, floor - height * big, left + width, floor), radius=width * 0.2, fill=255
        )
    line = [(margin, big * 0.40), (big * 0.5, big * 0.29), (big - margin, big * 0.16)]
    draw.line(line, fill=255, width=max(int(big * 0.05), 1), joint="curve")
    end, dot = line[-1], big * 0.05
    draw.ellipse((end[0] - dot, end[1] - dot, end[0] + dot, end[1] + dot), fill=255)
    return mask.resize((size, size), Image.Resampling.LANCZOS)


def draw_icons(folder: Path = APP_PACKAGE) -> list[Path]:
    """color.png (the mark on the accent colour, rounded) and outline.png (the mark alone,
    pure white with transparency: Teams shows it on its own coloured backgrounds)."""
    from PIL import Image, ImageDraw

    size = ICONS["color.png"]
    color = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(color).rounded_rectangle((0, 0, size - 1, size - 1), radius=size * 0.18,
                                            fill=(*ACCENT, 255))  # fmt: skip
    white = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    color.paste(white, (0, 0), _mark(size))
    outline = Image.new("RGBA", (ICONS["outline.png"],) * 2, (255, 255, 255, 0))
    outline.putalpha(_mark(ICONS["outline.png"], scale=8))
    written = []
    for name, image in (("color.png", color), ("outline.png", outline)):
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=True)
        (folder / name).write_bytes(buffer.getvalue())
        written.append(folder / name)
    return written


if __name__ == "__main__":  # redraw the committed icons: python -m bot.package
    for path in draw_icons():
        print(path)
