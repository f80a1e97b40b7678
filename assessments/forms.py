"""Answer forms of the test flow."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField, TextAreaField


class TextAnswerForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"))
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit answer"))


class AudioAnswerForm(FlaskForm):
    audio = FileField(
        _l("Or upload a recording"),
        validators=[FileRequired(_l("Choose an audio file to upload."))],
        description=_l("WebM, Ogg, WAV, MP3, M4A or FLAC."),
        render_kw={"accept": "audio/*"},
    )
    submit = SubmitField(_l("Upload recording"))
