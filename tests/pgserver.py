"""pgserver.py: a throwaway PostgreSQL server for the tests (not a test itself).

start(tmp) runs initdb and pg_ctl in a folder under tmp (as the `postgres`
user when the tests run as root: initdb refuses root), listening on
127.0.0.1 at a free port with password (scram) authentication for a user
`vfr`, and returns a Server; new_db() creates a database and returns its URI
(with the password in it, as a user would write it). stop() stops it.
missing() says why there is no server to start (the caller exits 77).
"""
import os
import pwd
import shutil
import socket
import subprocess
import time

PASSWORD = "s3cret-Pw"


def _bindir():
    base = "/usr/lib/postgresql"
    if os.path.isdir(base):
        for v in sorted(os.listdir(base), key=lambda s: int(s) if s.isdigit() else 0, reverse=True):
            b = os.path.join(base, v, "bin")
            if os.path.isfile(os.path.join(b, "initdb")):
                return b
    p = shutil.which("initdb")
    return os.path.dirname(p) if p else None


def missing():
    if not _bindir():
        return "PostgreSQL (initdb, pg_ctl) not installed: apt-get install postgresql (scripts/setup.sh in CI)"
    if not shutil.which("psql") and not os.path.isfile(os.path.join(_bindir(), "psql")):
        return "psql not installed (postgresql-client)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
    return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, tmp):
        self.bin = _bindir()
        self.root = os.path.join(tmp, "pg")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.dbs = 0
        os.makedirs(self.root)
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chmod(tmp, 0o755)
            os.chmod(self.root, 0o755)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        pwfile = os.path.join(self.root, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        if self.as_user:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run("initdb", "-D", self.data, "-U", "vfr", "--pwfile", pwfile, "-A", "scram-sha-256",
                  "--no-sync", "-E", "UTF8", "--locale", "C")
        self.start()

    def _run(self, prog, *args, check=True):
        p = subprocess.run([*self.as_user, os.path.join(self.bin, prog), *args], capture_output=True, text=True,
                           cwd=self.root)
        if check and p.returncode != 0:
            raise RuntimeError(f"{prog}: {p.stdout} {p.stderr}")
        return p

    def start(self):
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.root, "log"), "-w", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def uri(self, db, password=PASSWORD):
        auth = f"vfr:{password}" if password is not None else "vfr"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def psql(self, db, sql):
        """Runs sql in db; rows as lists of strings (unaligned, tab-separated)."""
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        p = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", "vfr", "-d", db, "-c", sql],
                           capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"psql: {p.stderr}")
        return [line.split("\t") for line in p.stdout.splitlines()]

    def new_db(self, name=None):
        self.dbs += 1
        name = name or f"t{self.dbs}"
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.uri(name)


def start(tmp):
    return Server(tmp)
