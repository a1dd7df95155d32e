#!/usr/bin/env python3
"""Cold start of the `trailseal monitor` Lambda function's binary, on this machine: a minimal
Lambda Runtime API (the HTTP interface Lambda serves a custom runtime) on loopback, the binary
started as `bootstrap`, timed from the process start to its first `GET .../invocation/next`
(init) and to the answer of the first invocation. Lambda's own sandbox start (download of the
zip, microVM) is not included; this is what the binary adds to it.

    python3 bench/lambda-cold-start.py BINARY [--runs 20] [--endpoint http://127.0.0.1:PORT]

Without --endpoint the event is a failed API call (answered without any AWS call: start-up
alone). With --endpoint (moto, seeded with a trail), the event is an AWS Config change of
trail `main`: the whole account read and evaluated, PutEvaluations in TestMode.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def failed_call():
    return {
        "version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.kms",
        "account": "123456789012", "time": "2026-11-30T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventSource": "kms.amazonaws.com", "eventName": "DisableKey", "awsRegion": "us-east-1",
                   "eventTime": "2026-11-30T10:00:00Z", "errorCode": "AccessDenied",
                   "userIdentity": {"arn": "arn:aws:iam::123456789012:user/x"},
                   "requestParameters": {"keyId": "k"}},
    }


def config_change():
    item = {"configurationItemCaptureTime": "2026-11-30T10:00:00.000Z", "awsAccountId": "123456789012",
            "configurationItemStatus": "OK", "resourceType": "AWS::CloudTrail::Trail", "resourceId": "main",
            "resourceName": "main", "ARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
            "awsRegion": "us-east-1"}
    return {"invokingEvent": json.dumps({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
                                         "notificationCreationTime": "2026-11-30T10:00:01.000Z"}),
            "resultToken": "token", "accountId": "123456789012", "ruleParameters": "{}"}


class Api:
    def __init__(self, event):
        self.event = json.dumps(event).encode()
        self.next_at = None
        self.answered_at = None
        self.answer = None
        self.done = threading.Event()


def handler_for(api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if api.next_at is not None:
                api.done.wait(30)  # one invocation per process
                return
            api.next_at = time.perf_counter()
            deadline = int(time.time() * 1000) + 300_000
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", "req-0")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             "arn:aws:lambda:us-east-1:123456789012:function:trailseal-monitor")
            self.send_header("Content-Length", str(len(api.event)))
            self.end_headers()
            self.wfile.write(api.event)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            api.answered_at = time.perf_counter()
            api.answer = (self.path, body.decode(errors="replace"))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            api.done.set()
    return Handler


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the function is killed while it waits for the next event: expected


def one_run(binary, event, endpoint):
    api = Api(event)
    server = Server(("127.0.0.1", 0), handler_for(api))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as d:
        bootstrap = os.path.join(d, "bootstrap")
        os.symlink(os.path.abspath(binary), bootstrap)
        env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
               "AWS_LAMBDA_FUNCTION_NAME": "trailseal-monitor", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
               "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_EC2_METADATA_DISABLED": "true", "TRAILSEAL_CONFIG_TEST_MODE": "true"}
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
            env["TRAILSEAL_REGIONS"] = "us-east-1"
        start = time.perf_counter()
        proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ok = api.done.wait(120)
        proc.kill()
        _, err = proc.communicate()
    server.shutdown()
    if not ok or api.next_at is None:
        raise SystemExit(f"no answer from the function: {err.decode(errors='replace')[-2000:]}")
    return (api.next_at - start) * 1000, (api.answered_at - start) * 1000, api.answer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--endpoint")
    args = ap.parse_args()
    event = config_change() if args.endpoint else failed_call()
    inits, answers = [], []
    for _ in range(args.runs):
        init, answer, posted = one_run(args.binary, event, args.endpoint)
        inits.append(init)
        answers.append(answer)
    print(f"answer of the first invocation posted to {posted[0]}: {posted[1][:300]}")
    for name, values in (("init (start -> first GET next)", inits), ("first invocation answered", answers)):
        print(f"{name}: median {statistics.median(values):.1f} ms, min {min(values):.1f}, "
              f"max {max(values):.1f} ({len(values)} runs)")


if __name__ == "__main__":
    main()
