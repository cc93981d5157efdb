/**
 * The error page for pages (API routes answer JSON). The message is the
 * error's own only in development or for 4xx; otherwise a generic one.
 *
 * @module
 */
import type { ErrorPageProps } from "../lib/framework/mod.ts";

export default function ErrorPage({ status, message }: ErrorPageProps) {
  return (
    <main class="error-page">
      <h1>{status >= 500 ? "Something went wrong" : "Cannot show this page"}</h1>
      <p>
        {status}: {message}
      </p>
      <p>
        <a href="/">Back to the globe</a>
      </p>
    </main>
  );
}
