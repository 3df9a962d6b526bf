import pytest
import yaml
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_and_describes_every_endpoint(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)  # drf-spectacular's bundled OpenAPI 3 JSON schema; raises when invalid
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/usage", "/api/v1/authorize", "/api/v1/estimate", "/api/v1/wallets"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A workspace API key (create_api_key).",
    }
    usage = schema["paths"]["/api/v1/usage"]["post"]
    assert set(usage["responses"]) >= {"200", "400", "401", "429"}


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
