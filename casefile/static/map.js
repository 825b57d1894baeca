// The case map (templates/maps/map.html). Loaded from 'self' after Leaflet and Leaflet.markercluster (vendored,
// casefile/static/vendor/). It draws what the page's tables list: each row carries its position in data-*
// attributes and its popup is made of copies of the row's own cells, so nothing is written as HTML from text.
// Without JavaScript the tables are the page.
"use strict";

(function () {
  const container = document.getElementById("case-map");
  if (!container || !window.L) return;
  document.documentElement.classList.add("js");

  const offline = !container.dataset.tiles;
  const map = L.map(container, {
    minZoom: 2,
    maxZoom: offline ? 12 : 19,
    worldCopyJump: true,
    attributionControl: true,
  });
  map.attributionControl.setPrefix(false);
  if (offline) {
    container.classList.add("map-offline");
    drawOfflineBasemap(map, container);
  } else {
    L.tileLayer(container.dataset.tiles, {
      maxZoom: 19,
      attribution: escapeText(container.dataset.attribution || ""),
    }).addTo(map);
  }

  const clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
  const areas = L.featureGroup();
  const bounds = L.latLngBounds([]);
  for (const row of document.querySelectorAll("tr[data-lat][data-lon]")) {
    const lat = Number(row.dataset.lat);
    const lon = Number(row.dataset.lon);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    const kind = row.dataset.kind === "incident" ? "incident" : "evidence";
    const flagged = row.dataset.flagged === "true";
    const marker = L.marker([lat, lon], {
      icon: L.divIcon({
        className: "map-marker map-marker-" + kind + (flagged ? " map-marker-flagged" : ""),
        iconSize: [22, 22],
        iconAnchor: [11, 11],
        popupAnchor: [0, -10],
      }),
      title: row.dataset.label || "",
      keyboard: true,
    });
    marker.bindPopup(() => popupFor(row), { maxWidth: 280 });
    clusters.addLayer(marker);
    bounds.extend([lat, lon]);
    const radius = Number(row.dataset.radius);
    if (kind === "incident" && radius > 0) {
      areas.addLayer(L.circle([lat, lon], { radius: radius, className: "map-area", interactive: false }));
      bounds.extend(L.latLng(lat, lon).toBounds(radius * 2));
    }
  }
  areas.addTo(map);
  clusters.addTo(map);
  if (bounds.isValid()) {
    // Every marker and the whole of every incident's area in view.
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 10 });
  } else {
    map.setView([20, 10], 2);
  }

  function popupFor(row) {
    // Copies of the row's cells: its link (title or ERN), its title, date and any flag, already escaped.
    const box = document.createElement("div");
    box.className = "map-popup";
    box.dir = document.documentElement.dir || "ltr";
    for (const selector of [".feature-link", ".feature-name", ".feature-date", ".feature-place", ".feature-flag"]) {
      const cell = row.querySelector(selector);
      if (!cell || !cell.textContent.trim()) continue;
      const line = document.createElement("div");
      line.className = "map-popup-line";
      line.setAttribute("dir", "auto");
      // A cell's contents (a table cell belongs in a table), or the link itself.
      const parts = cell.tagName === "TD" ? Array.from(cell.childNodes) : [cell];
      for (const part of parts) line.appendChild(part.cloneNode(true));
      box.appendChild(line);
    }
    return box;
  }

  function drawOfflineBasemap(target, el) {
    // Natural Earth (public domain), shipped with the app: land, borders, and names of places from zoom 4.
    const pane = target.createPane("basemap");
    pane.classList.add("map-basemap-pane");
    const renderer = L.svg({ pane: "basemap" });
    const places = L.layerGroup();
    target.attributionControl.addAttribution(escapeText(el.dataset.offlineAttribution || "Natural Earth"));
    const load = (url) => fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null));
    load(el.dataset.land).then((data) => {
      if (data) L.geoJSON(data, { pane: "basemap", renderer: renderer, interactive: false, className: "map-land" }).addTo(target);
      return load(el.dataset.borders);
    }).then((data) => {
      if (data) L.geoJSON(data, { pane: "basemap", renderer: renderer, interactive: false, className: "map-border" }).addTo(target);
      return load(el.dataset.places);
    }).then((data) => {
      if (!data) return;
      for (const feature of data.features || []) {
        const [lon, lat] = feature.geometry.coordinates;
        const label = document.createElement("span");
        label.textContent = feature.properties.name;
        label.setAttribute("lang", "en");
        places.addLayer(L.marker([lat, lon], {
          icon: L.divIcon({ className: "map-place", html: label, iconSize: null }),
          interactive: false,
          keyboard: false,
          pane: "basemap",
        }));
      }
      const showPlaces = () => {
        if (target.getZoom() >= 4) places.addTo(target);
        else places.remove();
      };
      target.on("zoomend", showPlaces);
      showPlaces();
    }).catch(() => {
      // The basemap is a backdrop: without it the markers and the tables still say everything.
      el.classList.add("map-basemap-missing");
    });
  }

  function escapeText(text) {
    // Leaflet writes attributions as HTML; the configured text is shown as text.
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }
})();
