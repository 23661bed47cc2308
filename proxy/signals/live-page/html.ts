/** The live page (GET /): the skeleton live.js fills in; elements with data-metric show that /metrics family. */
export const LIVE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice · live</title>
<link rel="icon" type="image/svg+xml" href="favicon.svg">
<link rel="stylesheet" href="live.css">
<script src="live.js" defer></script>
</head>
<body>
<header>
  <h1><img src="favicon.svg" alt="" width="22" height="22"> sluice <span class="sub">live</span></h1>
  <span id="health" class="health">…</span>
  <span id="updated" class="updated">loading…</span>
</header>
<main>
<section class="cards" aria-label="the instance">
  <div class="card">
    <h2>pressure</h2>
    <div class="big"><span data-metric="sluice_pressure" data-format="ratio">–</span></div>
    <div id="pressure-bar"></div>
    <ul id="pressure-components" class="components"></ul>
  </div>
  <div class="card">
    <h2>memory budget</h2>
    <div class="big"><span data-metric="sluice_memory_used_bytes" data-format="bytes">–</span></div>
    <div class="small">of <span data-metric="sluice_memory_budget_bytes" data-format="bytes">–</span></div>
    <div class="small">buffered <span data-metric="sluice_bytes_buffered" data-format="bytes">–</span></div>
  </div>
  <div class="card">
    <h2>connections</h2>
    <div class="big"><span data-metric="sluice_connections_active">–</span> <span class="unit">active</span></div>
    <div class="small"><span data-metric="sluice_connections_queued">–</span> queued</div>
    <div class="small figure">limit <span data-metric="sluice_concurrency_limit">–</span></div>
    <div class="small"><span data-metric="sluice_connections_total">–</span> since start</div>
  </div>
  <div class="card">
    <h2>throughput</h2>
    <div class="small">client → target <b id="rate-up">–</b></div>
    <div class="small">target → client <b id="rate-down">–</b></div>
    <div class="small">relayed → <span data-metric="sluice_bytes_total" data-labels='{"direction":"client_to_target"}' data-format="bytes">–</span>
      · ← <span data-metric="sluice_bytes_total" data-labels='{"direction":"target_to_client"}' data-format="bytes">–</span></div>
  </div>
  <div class="card">
    <h2>drops &amp; spill</h2>
    <div class="small">messages dropped <span data-metric="sluice_messages_dropped_total">–</span> <span id="rate-dropped" class="unit"></span></div>
    <div class="small">spill on disk <span data-metric="sluice_spill_bytes" data-format="bytes">–</span></div>
    <div class="small">process RSS <span data-metric="process_resident_memory_bytes" data-format="bytes">–</span></div>
  </div>
</section>
<section class="charts" aria-label="the last five minutes">
  <figure id="chart-rate"><figcaption>bytes/s <span class="key s0">client → target</span> <span class="key s1">target → client</span> <span class="max"></span></figcaption><svg role="img" aria-label="throughput"></svg><div class="axis"><span class="span"></span><span>now</span></div></figure>
  <figure id="chart-buffered"><figcaption>buffered <span class="key s0">bytes</span> <span class="key s1">budget used</span> <span class="max"></span></figcaption><svg role="img" aria-label="buffered bytes"></svg><div class="axis"><span class="span"></span><span>now</span></div></figure>
  <figure id="chart-pressure"><figcaption>pressure <span class="max"></span></figcaption><svg role="img" aria-label="pressure"></svg><div class="axis"><span class="span"></span><span>now</span></div></figure>
  <figure id="chart-connections"><figcaption>connections <span class="key s0">active</span> <span class="key s1">queued</span> <span class="max"></span></figcaption><svg role="img" aria-label="connections"></svg><div class="axis"><span class="span"></span><span>now</span></div></figure>
</section>
<section aria-label="connections">
  <h2>connections <span id="connections-shown" class="unit"></span> <span id="connections-held" class="held-count"></span></h2>
  <table id="connections">
    <thead><tr>
      <th>id</th><th class="proxy">proxy</th><th>client</th><th>target</th><th>phase</th><th>age</th>
      <th>client → target<br><span class="unit">buffered / window · relayed</span></th>
      <th>target → client<br><span class="unit">buffered / window · relayed</span></th>
      <th>held back</th><th class="messages">messages</th><th class="stream">tunnel stream</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  <p id="connections-empty" class="empty" hidden>no open connections</p>
</section>
</main>
<footer>read-only · refreshed every second from <a href="connections">connections</a> and <a href="metrics">metrics</a> · <a href="healthz">healthz</a> · this page shows client addresses: keep the metrics port private</footer>
</body>
</html>
`;
