"""A local fake of the Hugging Face Hub's HTTP API, for tests of what train.py and deploy.py upload.

Only huggingface_hub's HTTP transport is replaced, through its public `set_client_factory`: HfApi,
the commit and LFS code and the retries all run for real, but the bytes go to FakeHub, which keeps
what was sent (repos created, each commit's NDJSON, LFS blobs, Space variables and hardware) and can
rebuild the files a commit uploaded.
"""

import base64
import hashlib
import json
from pathlib import Path

import yaml

HOST = "https://huggingface.co"
LFS_HOST = "https://lfs.fake.example"
BINARY = (".safetensors", ".png", ".onnx", ".wasm")  # as the Hub: these go through LFS, text goes inline
KINDS = {"models": "model", "spaces": "space", "datasets": "dataset"}  # API path part -> repo type


def _response(status: int, payload=None):
    import httpx2

    return httpx2.Response(status, json=payload) if payload is not None else httpx2.Response(status)


class FakeHub:
    """Answers the Hub's HTTP API as huggingface_hub uses it for create_repo, upload_folder, model_info,
    add_space_variable and request_space_hardware."""

    HOST = HOST

    def __init__(self):
        self.requests, self.unexpected, self.commits, self.lfs_blobs, self.validated = [], [], [], {}, []
        self.created, self.commit_repos, self.variables, self.hardware = [], [], {}, {}
        self.models: dict[str, dict] = {}  # repo id -> {"files": [...], "datasets": [...]}: what model_info finds

    def __call__(self, request):
        method, url, path = request.method, str(request.url), request.url.path
        self.requests.append(f"{method} {url}")
        body = request.read()
        kind, repo, rest = self._split(path)
        if method == "POST" and path == "/api/repos/create":
            payload = json.loads(body)
            self.created.append(payload)
            name = f"{payload.get('organization') or 'someone'}/{payload['name']}"
            return _response(200, {"url": f"{HOST}/{name}", "name": name, "id": "fake-repo-id"})
        if method == "POST" and path == "/api/validate-yaml":  # a model card's metadata, checked before upload
            content = json.loads(body)["content"]
            self.validated.append(content)
            meta = yaml.safe_load(content.split("---\n")[1]) if content.startswith("---\n") else None
            errors = [] if isinstance(meta, dict) else [{"message": "no metadata"}]
            return _response(400 if errors else 200, {"errors": errors, "warnings": []})
        if method == "POST" and rest.startswith("preupload/"):
            return _response(200, {"files": [
                {"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(BINARY) else "regular",
                 "shouldIgnore": False, "oid": None} for f in json.loads(body)["files"]]})
        if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
            return _response(200, {"transfer": "basic", "objects": [
                {"oid": o["oid"], "size": o["size"], "authenticated": True,
                 "actions": {"upload": {"href": f"{LFS_HOST}/upload/{o['oid']}"}}}
                for o in json.loads(body)["objects"]]})
        if method == "PUT" and url.startswith(f"{LFS_HOST}/upload/"):
            self.lfs_blobs[path.rsplit("/", 1)[1]] = body
            return _response(200)
        if method == "POST" and rest.startswith("commit/"):
            self.commits.append([json.loads(line) for line in body.decode().splitlines() if line.strip()])
            self.commit_repos.append((kind, repo))
            return _response(200, {"commitUrl": f"{HOST}/{repo}/commit/{'c' * 40}", "commitOid": "c" * 40,
                                   "pullRequestUrl": None})
        if kind == "space" and method == "POST" and rest == "variables":
            payload = json.loads(body)
            self.variables.setdefault(repo, {})[payload["key"]] = payload["value"]
            return _response(200, {k: {"value": v} for k, v in self.variables[repo].items()})
        if kind == "space" and method == "POST" and rest == "hardware":
            self.hardware[repo] = json.loads(body)["flavor"]
            requested = {"current": None, "requested": self.hardware[repo]}
            return _response(200, {"stage": "BUILDING", "hardware": requested})
        if kind == "model" and method == "GET" and rest in ("", "revision/main"):
            if repo not in self.models:
                return _response(404, {"error": "Repository not found"})
            model = self.models[repo]
            return _response(200, {"id": repo, "siblings": [{"rfilename": f} for f in model["files"]],
                                   "cardData": {"datasets": model.get("datasets")}})
        if path == "/api/agent-harnesses":  # huggingface_hub's best-effort user-agent lookup; 404 is fine
            return _response(404, {"error": "not in the fake Hub"})
        self.unexpected.append(f"{method} {url}")
        return _response(404, {"error": "not in the fake Hub"})

    @staticmethod
    def _split(path: str) -> tuple[str | None, str | None, str]:
        """/api/spaces/owner/name/commit/main -> ("space", "owner/name", "commit/main")."""
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "api" or parts[1] not in KINDS:
            return None, None, ""
        return KINDS[parts[1]], "/".join(parts[2:4]), "/".join(parts[4:])

    def rebuild(self, commit: list[dict], folder: Path) -> dict[str, bytes]:
        """Write the files of one commit (inline or through LFS) into `folder`; returns {path: bytes}."""
        files = {}
        for op in commit[1:]:
            value = op["value"]
            if op["key"] == "file":
                data = base64.b64decode(value["content"])
            else:
                assert op["key"] == "lfsFile", op
                data = self.lfs_blobs[value["oid"]]
                assert hashlib.sha256(data).hexdigest() == value["oid"] and len(data) == value["size"]
            files[value["path"]] = data
            (folder / value["path"]).parent.mkdir(parents=True, exist_ok=True)
            (folder / value["path"]).write_bytes(data)
        return files


def refuse_offline(request):
    from huggingface_hub.errors import OfflineModeIsEnabled

    raise OfflineModeIsEnabled(f"Cannot reach {request.url}: the tests are offline.")


def install_fake_hub(monkeypatch):
    """Route huggingface_hub to a new FakeHub for one test; returns it and a function that undoes it."""
    import httpx2
    import huggingface_hub
    from huggingface_hub import constants

    hub = FakeHub()
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=httpx2.MockTransport(hub), follow_redirects=True, timeout=None))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # our own env says offline; the fake Hub is "online"
    # hf_xet uploads through its own (Rust) HTTP client, out of reach of any Python-level mock: take the
    # Hub's other upload path, the LFS batch API, which goes through the same transport.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setenv("HF_TOKEN", "hf_fake_token_for_tests")

    def undo():
        # Back to a client that refuses every request at once, as huggingface_hub's own does when offline. A
        # plain client would try the network: snapshot_download then waits out its retries (23 s a test here).
        huggingface_hub.set_client_factory(
            lambda: httpx2.Client(event_hooks={"request": [refuse_offline]}, follow_redirects=True))

    return hub, undo
