"""What kind of file an appendix is (by its bytes, checked against its name), and its rows.

.docx → `docx`, .xlsx and a PDF's ruled tables → `sheets`, then `grid` and `structure`; a
PDF without a ruled appendix table → its text layer through `pdftotext -layout` (Debian's
poppler-utils) → `layout`; text → `sheets` when tab-separated, `layout` when its columns
are laid out with spaces, else `text`.
An old binary .doc, an RTF, a PDF without text (a scan), a file whose bytes are not what
its name says: BadInput, one line.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

from reminder.importer.names import Directory
from reminder.importer.structure import structure
from reminder.importer.table import BadInput, Row
from reminder.importer.text import read_text

_KIND_OF_SUFFIX = {
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
    ".tsv": "text",
}
_IMAGES = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)


def sniff(data: bytes) -> str:
    """ "docx", "pdf", "text", or a description of what else the bytes are."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            return "a damaged zip archive"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "EncryptionInfo" in names:
            return "an encrypted Office file"
        return "a zip archive"
    for magic, what in _IMAGES:
        if data.startswith(magic):
            return what
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if "EncryptedPackage".encode("utf-16-le") in data[:65536]:
            return "an encrypted (password-protected) Office file"
        return "an old binary Word/Office file (.doc)"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"{\\rtf"):
        return "an RTF file"
    try:
        _decode(data)
    except UnicodeDecodeError:
        return "binary data"
    return "text"


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def read_rows(path: Path, wanted: str | None, directory: Directory) -> tuple[list[Row], str]:
    """The appendix rows of `path` and the kind it was read as ("docx", "pdf", "text")."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read the file: {exc.strerror or exc}") from None
    if not data.strip():
        raise BadInput("the file is empty")
    kind = sniff(data)
    _check_kind(path, kind, wanted)
    if kind == "docx":
        from reminder.importer.docx import docx_lines

        return structure(docx_lines(path)), kind
    if kind == "xlsx":
        from reminder.importer.sheets import xlsx_lines

        return structure(xlsx_lines(path)), kind
    if kind == "pdf":
        from reminder.importer.sheets import pdf_lines

        try:
            return structure(pdf_lines(path)), kind
        except BadInput as exc:
            if "no text layer" in str(exc) or "encrypted" in str(exc):
                raise
        # no ruled table with the appendix's header: its columns from the text's layout
        return _from_text(pdf_text(path), directory), kind
    text = _decode(data)
    from reminder.importer.sheets import looks_tabbed, tsv_lines

    if looks_tabbed(text):
        return structure(tsv_lines(text)), kind
    return _from_text(text, directory), kind


def _check_kind(path: Path, kind: str, wanted: str | None) -> None:
    if kind not in ("docx", "xlsx", "pdf", "text"):
        what, hint = kind, ""
        if ".doc" in kind or "RTF" in kind:
            hint = ": open it in Word or LibreOffice and save it as .docx"
        elif "image" in kind:
            what = f"{kind} (a photo or a scan?)"
            hint = ": run OCR on it first, or ask for the .docx"
        elif "encrypted" in kind:
            hint = ": open it with its password and save an unprotected copy"
        raise BadInput(f"this is {what}, not an appendix (.docx, .xlsx, a PDF or text){hint}")
    named = _KIND_OF_SUFFIX.get(path.suffix.lower())
    if path.suffix.lower() == ".doc":
        named = "an old binary Word file (.doc)"
    if named is not None and named != kind:
        raise BadInput(f"the name says {path.suffix} but the file is {_described(kind)}")
    if wanted == "docx" and kind != "docx":
        raise BadInput(f"--from docx, but the file is {_described(kind)}")
    if wanted == "text" and kind in ("docx", "xlsx"):
        raise BadInput(f"--from text, but the file is {_described(kind)} (leave --from out)")


def _described(kind: str) -> str:
    return {"docx": "a .docx", "xlsx": "an .xlsx", "pdf": "a PDF", "text": "text"}.get(kind, kind)


def pdf_text(path: Path) -> str:
    """A PDF's text layer, laid out (`pdftotext -layout`); BadInput for a scan."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise BadInput(
            "reading a PDF needs pdftotext (Debian package poppler-utils: "
            "apt-get install poppler-utils), or copy the table's text into a .txt file"
        )
    try:
        done = subprocess.run(
            [exe, "-layout", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BadInput("pdftotext took more than 2 minutes on this PDF") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadInput(f"pdftotext cannot read this PDF: {reason[-1] if reason else 'failed'}")
    text = done.stdout.decode("utf-8", "replace")
    if sum(c.isalpha() for c in text) < 20:
        raise BadInput(
            "this PDF has no text layer (a scan?): run OCR on it first, or use the .docx"
        )
    return text


def _from_text(text: str, directory: Directory) -> list[Row]:
    from reminder.importer.layout import looks_laid_out, read_layout

    if looks_laid_out(text):
        return read_layout(text)
    return read_text(text, directory)
