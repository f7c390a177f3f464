"""A PostgreSQL cluster of its own for a test: initdb in a temp dir as the
postgres user (PostgreSQL refuses root), a unix socket in that dir for the
owner, 127.0.0.1 on a free port with TLS only (a test CA made here, server
certificate for localhost/127.0.0.1, scram-sha-256 passwords), stopped and
removed by stop(). Needs Debian's postgresql package (scripts/deps.sh).
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from harness import Skip


def pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    if not found:
        raise Skip("PostgreSQL server not installed (make deps)")
    return found[-1]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


class Cluster:
    def __init__(self, owner_password="owner-pw"):
        self.pw = pwd.getpwnam("postgres")
        self.dir = tempfile.mkdtemp(prefix="st-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.tls = os.path.join(self.dir, "tls")
        os.makedirs(self.sock)
        os.makedirs(self.tls)
        self.port = free_port()
        self.ca = os.path.join(self.tls, "ca.pem")
        self._make_tls()
        os.makedirs(self.data, mode=0o700)
        for d in (self.sock, self.tls, self.data):
            shutil.chown(d, "postgres", "postgres")
        for f in os.listdir(self.tls):
            shutil.chown(os.path.join(self.tls, f), "postgres", "postgres")
        os.chmod(os.path.join(self.tls, "server.key"), 0o600)
        self._as_pg([pg_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth-local=trust",
                     "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"])
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "hostssl all all 127.0.0.1/32 scram-sha-256\n"
                    "hostnossl all all 127.0.0.1/32 reject\n")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\n"
                    "unix_socket_directories = '%s'\nssl = on\n"
                    "ssl_cert_file = '%s/server.pem'\nssl_key_file = '%s/server.key'\n"
                    "fsync = on\nmax_connections = 50\nlog_min_messages = warning\nlog_min_duration_statement = 200\n"
                    % (self.port, self.sock, self.tls, self.tls))
        self.start()
        self.psql("CREATE DATABASE audit", db="postgres")
        self.psql("ALTER ROLE postgres PASSWORD '%s'" % owner_password)
        self.owner_pw = owner_password

    def _as_pg(self, cmd, check=True):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + cmd, check=check,
                              capture_output=True, text=True)

    def _make_tls(self):
        t = self.tls
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "2", "-subj", "/CN=sealtrace test CA",
                "-keyout", t + "/ca.key", "-out", t + "/ca.pem")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=localhost", "-keyout", t + "/server.key", "-out", t + "/server.csr")
        with open(t + "/ext.cnf", "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", t + "/server.csr", "-CA", t + "/ca.pem", "-CAkey",
                t + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", t + "/ext.cnf",
                "-out", t + "/server.pem")
        # a CA nobody signed the server with: verify-full must refuse it
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "2", "-subj", "/CN=other CA",
                "-keyout", t + "/other.key", "-out", t + "/other-ca.pem")

    def start(self):
        self._as_pg([pg_bin("pg_ctl"), "-D", self.data, "-w", "-t", "60", "-l",
                     os.path.join(self.sock, "server.log"), "start"])

    def stop(self):
        self._as_pg([pg_bin("pg_ctl"), "-D", self.data, "-w", "-t", "60", "-m", "fast", "stop"],
                    check=False)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def owner_dsn(self, db="audit"):
        """The owner over the unix socket (trust)."""
        return "host=%s port=%d dbname=%s user=postgres" % (self.sock, self.port, db)

    def tls_dsn(self, user, password, db="audit", ca=None):
        return ("host=localhost hostaddr=127.0.0.1 port=%d dbname=%s user=%s password=%s "
                "sslmode=verify-full sslrootcert=%s" % (self.port, db, user, password,
                                                        ca or self.ca))

    def psql(self, sql, db="audit", user="postgres", check=True):
        return self.psql_dsn("host=%s port=%d dbname=%s user=%s" % (self.sock, self.port, db, user),
                             sql, check)

    def psql_dsn(self, dsn, sql, check=True):
        cmd = [pg_bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn,
               "-c", sql]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if check and p.returncode:
            raise AssertionError("psql %r: %s" % (sql, p.stderr))
        return p

    def login(self, name, password, role):
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE %s" % (name, password, role))
