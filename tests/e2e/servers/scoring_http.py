"""A scoring service as users write them: Python http.server, HTTP/1.1 keep-alive.

POST /score {"applicant_id": ..., "income": N, ...} -> {"applicant_id": ...,
"approve": bool, "score": float, "model": "..."}; GET /health; POST /stream
answers text/event-stream with N chunks (body {"chunks": N}); POST /big
answers N bytes (body {"bytes": N}); POST /reset writes half a response and
resets the connection (SO_LINGER 0). Prints "ready PORT" when listening.

usage: scoring_http.py PORT [--tls CERT KEY]
"""
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def score_of(body):
    h = int.from_bytes(hashlib.sha256(body).digest()[:4], "big")
    return round((h % 10000) / 10000, 4)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # head and body are separate writes: without TCP_NODELAY each response
    # waits for the client's delayed ACK (~40 ms)
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send_json(self, obj, status=200):
        out = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        if self.path == "/health":
            self.send_json({"status": "ok"})
        else:
            self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        path = self.path.split("?")[0]
        if path == "/score":
            req = json.loads(body) if body else {}
            s = score_of(body)
            self.send_json({"applicant_id": req.get("applicant_id"), "approve": s >= 0.5,
                            "score": s, "model": "scorer-v3"})
        elif path == "/stream":
            chunks = json.loads(body)["chunks"]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(chunks):
                data = ("data: {\"token\": %d}\n\n" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/big":
            size = json.loads(body)["bytes"]
            out = bytes((i * 7) & 0xff for i in range(size))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        elif path == "/echo":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/file":
            # the body goes out with sendfile(2): counted by the agent, not seen
            with open(__file__, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.flush()
                self.connection.sendfile(f)
        elif path.startswith("/v1/models/") and path.endswith(":predict"):
            inst = json.loads(body)["instances"]
            self.send_json({"predictions": [score_of(json.dumps(i).encode()) for i in inst]})
        elif path.startswith("/v2/models/") and path.endswith("/infer"):
            req = json.loads(body)
            name = path.split("/")[3]
            self.send_json({"model_name": name, "model_version": "3", "outputs": [
                {"name": "probability", "datatype": "FP32", "shape": [1],
                 "data": [score_of(json.dumps(req["inputs"]).encode())]}]})
        elif path == "/v1/chat/completions":
            self.chat(json.loads(body))
        elif path == "/reset":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"{\"partial\": ")
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
        else:
            self.send_json({"error": "not found"}, 404)


    def chat(self, req):
        """An OpenAI-compatible answer: JSON, or SSE when stream is true."""
        words = ["tok%d" % i for i in range(3 + len(json.dumps(req)) % 5)]
        prompt_tokens = sum(len(m.get("content", "").split()) for m in req["messages"])
        if not req.get("stream"):
            self.send_json({"id": "c1", "object": "chat.completion", "model": "llm-7b-v2",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant",
                                                     "content": " ".join(words)}}],
                            "usage": {"prompt_tokens": prompt_tokens,
                                      "completion_tokens": len(words)}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for w in words + ["[DONE]"]:
            ev = w if w == "[DONE]" else json.dumps(
                {"model": "llm-7b-v2", "choices": [{"delta": {"content": w}}]})
            data = ("data: %s\n\n" % ev).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")


def main():
    port = int(sys.argv[1])
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    if len(sys.argv) > 2 and sys.argv[2] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
