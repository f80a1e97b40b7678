"""Every form on every page the crawl rendered: labels and CSRF tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from tests.access.conftest import Visit

UNLABELLED_TYPES = {"hidden", "submit", "button", "image", "reset"}


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    inside_label: bool


@dataclass
class Form:
    attrs: dict[str, str]
    hidden: dict[str, str] = field(default_factory=dict)


class FormParser(HTMLParser):
    """Collect form controls, label targets and forms with their hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[Control] = []
        self.label_targets: set[str] = set()
        self.ids: set[str] = set()
        self.forms: list[Form] = []
        self._label_depth = 0
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "label":
            self._label_depth += 1
            if "for" in values:
                self.label_targets.add(values["for"])
        elif tag == "form":
            self._form = Form(values)
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea"):
            self.controls.append(Control(tag, values, self._label_depth > 0))
            if tag == "input" and values.get("type") == "hidden" and self._form:
                self._form.hidden[values.get("name", "")] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_depth:
            self._label_depth -= 1
        elif tag == "form":
            self._form = None


def parse(body: str) -> FormParser:
    parser = FormParser()
    parser.feed(body)
    return parser


def is_labelled(control: Control, parser: FormParser) -> bool:
    attrs = control.attrs
    if control.inside_label or attrs.get("aria-label", "").strip():
        return True
    if attrs.get("id") in parser.label_targets:
        return True
    labelled_by = attrs.get("aria-labelledby", "").split()
    return bool(labelled_by) and all(i in parser.ids for i in labelled_by)


def rendered_pages(crawl: list[Visit]) -> list[Visit]:
    pages = [v for v in crawl if v.status == 200 and v.mimetype == "text/html"]
    assert len(pages) > 50
    return pages


def test_every_control_has_label(crawl: list[Visit]) -> None:
    missing = set()
    for visit in rendered_pages(crawl):
        parser = parse(visit.body)
        for control in parser.controls:
            if control.attrs.get("type") in UNLABELLED_TYPES:
                continue
            if not is_labelled(control, parser):
                name = control.attrs.get("name") or control.attrs.get("id")
                missing.add(f"{visit.rule}: <{control.tag} name={name}>")
    assert sorted(missing) == [], "\n".join(sorted(missing))


def test_every_post_form_has_csrf(crawl: list[Visit]) -> None:
    """Each posting form carries the CSRF token, or the quiz's attempt token.

    The quiz page posts with an attempt token in place of the CSRF token, so
    that answers typed before a session ended are still stored.
    """
    missing = set()
    for visit in rendered_pages(crawl):
        for form in parse(visit.body).forms:
            if form.attrs.get("method", "get").lower() != "post":
                continue
            # Flask-WTF reads any field whose name ends in csrf_token, so a
            # prefixed form's "enrol-csrf_token" counts.
            tokens = [
                value
                for name, value in form.hidden.items()
                if name.endswith("csrf_token") or name == "attempt_token"
            ]
            if not any(tokens):
                missing.add(f"{visit.rule}: form action={form.attrs.get('action')}")
    assert sorted(missing) == [], "\n".join(sorted(missing))
