"""API docs: `GET /openapi.json` and Swagger UI at `/docs`, served from a PyPI package (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
from aiohttp import web

from intake.openapi import document

# flask-swagger-ui ships Swagger UI 5 (the first line that renders OpenAPI 3.1) as static files;
# only its `dist/` folder is used, found without importing the package (which would import Flask).
SWAGGER_PACKAGE = "flask_swagger_ui"
TITLE = "Switchboard API"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="/docs/static/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <style>body {{ margin: 0; }} .topbar {{ display: none; }}</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      tryItOutEnabled: true,
    }});
  </script>
</body>
</html>
"""

MISSING = """<!doctype html><meta charset="utf-8"><title>{title}</title>
<p>Swagger UI's files are not installed (<code>pip install -r requirements.txt</code> brings them).
The document itself is at <a href="/openapi.json">/openapi.json</a>.</p>
"""


def swagger_dist() -> Path | None:
    """The folder holding swagger-ui-bundle.js, or None when the package is absent."""
    spec = importlib.util.find_spec(SWAGGER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    dist = Path(next(iter(spec.submodule_search_locations))) / "dist"
    return dist if (dist / "swagger-ui-bundle.js").is_file() else None


def register(app: web.Application) -> None:
    body = orjson.dumps(document())
    dist = swagger_dist()
    page = (PAGE if dist else MISSING).format(title=TITLE)

    async def openapi_json(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs)
    if dist is not None:
        app.router.add_static("/docs/static", dist)
