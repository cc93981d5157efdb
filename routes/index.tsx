/**
 * `/`: the globe. The page is the Globe island plus its stylesheet; all
 * data comes from `/ws` and the API once the island runs.
 *
 * @module
 */
import { Head } from "../lib/framework/runtime.ts";
import Globe from "../islands/Globe.tsx";
import { define } from "../services/web/define.ts";

export default define.page(function Home({ state }) {
  return (
    <>
      <Head>
        <link rel="stylesheet" href="/app.css" />
        <meta
          name="description"
          content="Live aircraft on a 3D globe, with anomalies and time travel."
        />
        <meta name="theme-color" content="#03060c" />
      </Head>
      <Globe
        wsPath="/ws"
        anomalyWindowHours={state.globe.anomalyWindowHours}
        testHook={state.globe.testHook}
      />
    </>
  );
});
