"""Sending outbox messages over SMTP (standard library only; settings passed in, never read here).

Delivery is at least once: a worker that dies after the SMTP server accepted a message but before
it recorded the message as sent will send it again. Every message carries a Message-ID derived
from its outbox `dedup_key`, the same on each attempt, so receiving systems can drop the copy.
"""
from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from .notifications import BASE_URL


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "passerelle@localhost"
    #: the site's public address, put in front of every link
    base_url: str = "http://127.0.0.1:5000"
    timeout: float = 30.0


@dataclass(frozen=True)
class Outgoing:
    """What the mailer needs of an outbox row (a plain copy: sending happens outside any transaction)."""

    id: int
    recipient: str
    subject: str
    body: str
    dedup_key: str


def message_id(dedup_key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "passerelle.invalid"
    return f"<{hashlib.sha256(dedup_key.encode('utf-8')).hexdigest()[:40]}@{domain}>"


def compose(outgoing: Outgoing, settings: SmtpSettings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = outgoing.recipient
    email["Subject"] = outgoing.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(outgoing.dedup_key, settings.sender)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(outgoing.body.replace(BASE_URL, settings.base_url.rstrip("/")))
    return email


def is_permanent(error: Exception) -> bool:
    """A 5xx answer (unknown mailbox, refused sender): retrying will not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and code >= 500


class Mailer:
    """One SMTP connection, opened on first use and reused for a worker pass."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        #: set when the server could not be reached: the rest of the pass waits for the next one
        self.unreachable = False

    def send(self, outgoing: Outgoing) -> None:
        """Hand one message to the SMTP server. Raises smtplib.SMTPException or OSError."""
        email = compose(outgoing, self.settings)
        try:
            self._connection().send_message(email)
        except smtplib.SMTPServerDisconnected:
            self.close()
            self._connection().send_message(email)  # the server closed an idle connection: once more

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            s = self.settings
            try:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            except (smtplib.SMTPException, OSError):
                self.unreachable = True
                raise
            try:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.user:
                    smtp.login(s.user, s.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
