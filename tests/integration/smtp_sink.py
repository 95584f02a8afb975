"""smtp_sink.py - a local SMTP server for the tests (a support module, not a
test): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, on 127.0.0.1 and an
ephemeral port, in a thread of the test.  It keeps every message it
accepted (envelope and bytes) and can refuse: the whole session (554 at
the greeting), MAIL (550) or RCPT for some addresses (550).

    with SmtpSink() as s:
        ... "[mail]\\nsmtp_url = smtp://127.0.0.1:%d\\n" % s.port ...
        s.messages  # [Message(mail_from, rcpts, data, parsed)]

Only the Python standard library is used.
"""
import email
import email.policy
import socketserver
import threading


class Message:
    def __init__(self, mail_from, rcpts, data):
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data  # bytes as received, dot-stuffing undone, CRLF kept
        self.parsed = email.message_from_bytes(data, policy=email.policy.default)

    def body(self):
        return self.parsed.get_content()


def _path(arg):
    """The address of 'FROM:<a@b> SIZE=...' / 'TO:<a@b>'."""
    start, end = arg.find("<"), arg.find(">")
    return arg[start + 1:end] if 0 <= start < end else arg.split(":", 1)[-1].strip()


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        sink.sessions += 1
        if sink.refuse_session:
            self.reply("554 5.3.2 no service here")
            return
        self.reply("220 sink.test ESMTP")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb, _, arg = cmd.partition(" ")
            verb = verb.upper()
            sink.commands.append(cmd)
            if verb == "EHLO":
                self.reply("250-sink.test")
                self.reply("250-8BITMIME")
                self.reply("250 SIZE 10485760")
            elif verb == "HELO":
                self.reply("250 sink.test")
            elif verb == "MAIL":
                if sink.refuse_mail:
                    self.reply("550 5.7.1 sender refused")
                    continue
                mail_from, rcpts = _path(arg), []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                to = _path(arg)
                if to in sink.refuse_rcpt:
                    self.reply("550 5.1.1 no such mailbox")
                    continue
                rcpts.append(to)
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("503 5.5.1 no recipients")
                    continue
                self.reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while True:
                    chunk = self.rfile.readline(1 << 20)
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                with sink.lock:
                    sink.messages.append(Message(mail_from, rcpts, data))
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 queued")
            elif verb in ("RSET", "NOOP"):
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    def __init__(self, refuse_session=False, refuse_mail=False, refuse_rcpt=()):
        self.refuse_session = refuse_session
        self.refuse_mail = refuse_mail
        self.refuse_rcpt = set(refuse_rcpt)
        self.messages = []
        self.commands = []
        self.sessions = 0
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def to(self, address):
        """The messages whose envelope names address."""
        with self.lock:
            return [m for m in self.messages if address in m.rcpts]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
