"""A tiny web app for localspace: answers every request on $PORT (standard library only)."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"Hello from {os.environ.get('DYNO', 'python-web')} ({self.path})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "5000"))
    print(f"python-web listening on {port}", flush=True)
    HTTPServer(("", port), Hello).serve_forever()
