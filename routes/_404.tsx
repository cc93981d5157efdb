/**
 * The 404 page (API requests get JSON instead).
 *
 * @module
 */
import { define } from "../services/web/define.ts";

export default define.page(function NotFound({ url }) {
  return (
    <main class="error-page">
      <h1>Not found</h1>
      <p>
        Nothing at <code>{url.pathname}</code>. The globe is at{" "}
        <a href="/">/</a>, the API is described at{" "}
        <a href="/api/openapi.json">/api/openapi.json</a>.
      </p>
    </main>
  );
});
