"""Answer forms of the test flow."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


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


class TypingForm(FlaskForm):
    typed = TextAreaField(
        _l("Type the passage here"),
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "off",
            "spellcheck": "false",
        },
    )
    # JSON that the page's script fills in: keystrokes, pastes, intervals (ms).
    measurements = HiddenField()
    submit = SubmitField(_l("Finish the typing test"))


class ChatMessageForm(FlaskForm):
    message = TextAreaField(
        _l("Your reply"),
        validators=[
            DataRequired(_l("The message is empty. Write a reply first.")),
            Length(max=1000, message=_l("Keep a chat message under 1,000 characters.")),
        ],
    )
    send = SubmitField(_l("Send"))


class EndChatForm(FlaskForm):
    end = SubmitField(_l("End the chat"))
