// Swagger UI over the API's own OpenAPI document. "Authorize" takes the api_key header
// (and the admin token for /admin); requests go to this same origin.
window.ui = SwaggerUIBundle({
  url: "/v1.0/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});
