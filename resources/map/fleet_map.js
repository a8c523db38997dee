// The fleet map's own code: markers, trails and selection, driven from Python.
// Python calls window.fleetMap.* through runJavaScript with JSON arguments;
// the page calls back through the QWebChannel object "bridge".
(function () {
  "use strict";
  const S = {
    map: null, bridge: null, markers: {}, trails: {}, selected: null, follow: false,
    routes: {}, routeLayer: null, selectedRoute: null, track: null,
    trailMs: 10 * 60 * 1000, autoFit: true, colors: {}, notice: null, tileHost: "", tilesOk: false, tileErrors: 0,
  };
  // Programmatic moves jump: an animation the page never sees end (a hidden view) would block the next move.
  const STILL = { animate: false };

  function arrow(color, course) {
    const rot = (course === null || course === undefined) ? 0 : course;
    const shape = (course === null || course === undefined)
      ? '<circle cx="14" cy="14" r="7" fill="' + color + '" stroke="#fff" stroke-width="2"/>'
      : '<path d="M14 3 L22 23 L14 18 L6 23 Z" fill="' + color + '" stroke="#fff" stroke-width="1.5"/>';
    return '<svg viewBox="0 0 28 28" style="transform: rotate(' + rot + 'deg)">' + shape + "</svg>";
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function iconFor(v) {
    const cls = "fd-vehicle" + (v.id === S.selected ? " fd-selected" : "");
    return L.divIcon({
      className: "", iconSize: [28, 28], iconAnchor: [14, 14],
      html: '<div class="' + cls + '" data-state="' + v.state + '">' + arrow(S.colors[v.state] || "#555", v.course)
        + '<span class="fd-label">' + escapeHtml(v.label) + "</span></div>",
    });
  }

  function trimTrail(id, newest) {
    const t = S.trails[id];
    if (!t) return;
    while (t.points.length && t.points[0][2] < newest - S.trailMs) t.points.shift();
    t.line.setLatLngs(t.points.map((p) => [p[0], p[1]]));
  }

  function addTrailPoint(v) {
    let t = S.trails[v.id];
    if (!t) {
      t = S.trails[v.id] = { points: [], line: L.polyline([], { weight: 3, opacity: 0.55, interactive: false }) };
      t.line.addTo(S.map);
    }
    const last = t.points[t.points.length - 1];
    if (!last || v.t > last[2]) t.points.push([v.lat, v.lon, v.t]);
    t.line.setStyle({ color: S.colors[v.state] || "#555" });
    trimTrail(v.id, v.t);
  }

  function setNotice(text) {
    S.notice.textContent = text;
    S.notice.style.display = text ? "block" : "none";
  }

  function reportTiles() {
    if (S.bridge) S.bridge.tileStatus(S.notice.textContent);
  }

  function watchTiles() {
    let tiles = null;
    S.map.eachLayer((layer) => { if (layer instanceof L.TileLayer) tiles = layer; });
    if (!tiles) {
      setNotice("No map tile server is configured: vehicles are shown on a plain background.");
      return;
    }
    tiles.on("tileerror", () => {
      S.tileErrors += 1;
      if (!S.tilesOk && !S.notice.textContent) {
        setNotice("Map tiles from " + S.tileHost + " cannot be loaded (offline?): vehicles are still shown.");
        reportTiles();
      }
    });
    tiles.on("tileload", () => {
      if (!S.tilesOk) { S.tilesOk = true; setNotice(""); reportTiles(); }
    });
  }

  const api = {
    init(mapName, config) {
      S.map = window[mapName];
      S.map.options.zoomSnap = 0.25;  // fit the fleet snugly; zooming by hand still steps by whole levels
      S.colors = config.colors;
      S.trailMs = config.trailMinutes * 60000;
      S.tileHost = config.tileHost;
      S.stopColors = config.stopColors || {};
      S.notice = document.createElement("div");
      S.notice.className = "fd-notice";
      document.body.appendChild(S.notice);
      if (config.depot) {
        L.marker(config.depot, {
          interactive: false, keyboard: false, zIndexOffset: -1000,
          icon: L.divIcon({ className: "fd-depot", html: "Depot", iconSize: [46, 18], iconAnchor: [23, 9] }),
        }).addTo(S.map);
      }
      watchTiles();
      const manual = () => { S.autoFit = false; };
      S.map.on("dragstart", manual);
      S.map.getContainer().addEventListener("wheel", manual, { passive: true });
      S.map.getContainer().addEventListener("dblclick", manual);
      const zoom = S.map.getContainer().querySelector(".leaflet-control-zoom");
      if (zoom) zoom.addEventListener("click", manual);
      new QWebChannel(qt.webChannelTransport, (channel) => {
        S.bridge = channel.objects.bridge;
        S.bridge.pageReady();
        if (S.notice.textContent) reportTiles();
      });
    },
    update(batch) {
      let added = false;
      for (const v of batch.vehicles) {
        let m = S.markers[v.id];
        if (!m) {
          added = true;
          m = S.markers[v.id] = L.marker([v.lat, v.lon], { icon: iconFor(v), keyboard: false, riseOnHover: true });
          m.on("click", () => { api.select(v.id, false); if (S.bridge) S.bridge.markerClicked(v.id); });
          m.addTo(S.map);
        } else {
          m.setLatLng([v.lat, v.lon]);
          const old = m.fd;
          if (old.state !== v.state || old.course !== v.course || old.label !== v.label) m.setIcon(iconFor(v));
        }
        m.fd = v;
        addTrailPoint(v);
      }
      for (const id of batch.removed || []) {
        if (S.markers[id]) { S.markers[id].remove(); delete S.markers[id]; }
        if (S.trails[id]) { S.trails[id].line.remove(); delete S.trails[id]; }
      }
      if (added && S.autoFit && !S.follow) api.fit();
      if (S.follow && S.selected !== null && S.markers[S.selected]) {
        S.map.panTo(S.markers[S.selected].getLatLng(), { animate: false });
      }
    },
    loadTrails(trails) {
      for (const id in trails) {
        const vid = Number(id);
        for (const p of trails[id]) {
          addTrailPoint({ id: vid, lat: p[0], lon: p[1], t: p[2], state: "stopped" });
        }
      }
    },
    select(id, center) {
      const previous = S.selected;
      S.selected = id;
      for (const vid of [previous, id]) {
        if (vid !== null && S.markers[vid]) S.markers[vid].setIcon(iconFor(S.markers[vid].fd));
      }
      if (id !== null && S.markers[id]) {
        S.markers[id].setZIndexOffset(1000);
        if (center) { S.autoFit = false; S.map.setView(S.markers[id].getLatLng(), Math.max(S.map.getZoom(), 15), STILL); }
      }
    },
    fit() {
      const points = Object.values(S.markers).map((m) => m.getLatLng());
      if (points.length === 1) S.map.setView(points[0], 15, STILL);
      else if (points.length) {
        // Keep vehicles clear of their labels (right) and of the notice (bottom), within reason on a small map.
        const size = S.map.getSize();
        const room = (px, side) => Math.min(px, Math.floor(side / 5));
        const bottom = S.notice.style.display === "block" ? 90 : 40;
        S.map.fitBounds(L.latLngBounds(points), {
          paddingTopLeft: [room(40, size.x), room(40, size.y)],
          paddingBottomRight: [room(90, size.x), room(bottom, size.y)], maxZoom: 16, ...STILL,
        });
      }
    },
    setFollow(on) { S.follow = !!on; },
    setTrailMinutes(minutes) {
      S.trailMs = minutes * 60000;
      for (const id in S.trails) {
        const pts = S.trails[id].points;
        if (pts.length) trimTrail(id, pts[pts.length - 1][2]);
      }
    },
    // Routes: stops coloured by status, the planned sequence as a dashed line; the selected route stands out.
    setRoutes(routes) {
      if (!S.routeLayer) S.routeLayer = L.layerGroup().addTo(S.map);
      S.routeLayer.clearLayers();
      S.routes = {};
      for (const r of routes) {
        const selected = r.id === S.selectedRoute;
        const faded = S.selectedRoute !== null && !selected;
        // The planned sequence of the selected route only: a dozen routes' lines at once are a tangle.
        const line = L.polyline(r.stops.map((st) => [st.lat, st.lon]), {
          color: "#1565c0", weight: 3, opacity: 0.8, dashArray: "6 6", interactive: false,
        });
        if (selected) line.addTo(S.routeLayer);
        const stops = {};
        for (const st of r.stops) {
          const color = S.stopColors[st.late ? "late" : st.status] || "#9e9e9e";
          const marker = L.circleMarker([st.lat, st.lon], {
            radius: selected ? 7 : 4, color: "#ffffff", weight: selected ? 2 : 1, fillColor: color,
            fillOpacity: faded ? 0.45 : 0.95,
          }).bindTooltip(escapeHtml(st.label), { direction: "top" }).addTo(S.routeLayer);
          stops[st.id] = { marker: marker, status: st.status, late: st.late, color: color };
        }
        S.routes[r.id] = { line: line, stops: stops, vehicle: r.vehicle };
      }
    },
    selectRoute(id) { S.selectedRoute = id; },
    showTrack(points) {
      if (S.track) { S.track.remove(); S.track = null; }
      if (points && points.length > 1) {
        S.track = L.polyline(points, { color: "#2e7d32", weight: 3, opacity: 0.8, interactive: false })
          .addTo(S.map);
      }
    },
    centerOn(lat, lon) { S.autoFit = false; S.map.setView([lat, lon], Math.max(S.map.getZoom(), 16), STILL); },
    routeInfo(id) {
      const r = S.routes[id];
      if (!r) return null;
      const stops = Object.values(r.stops);
      return { stops: stops.length, colors: stops.map((st) => st.color), statuses: stops.map((st) => st.status),
               late: stops.filter((st) => st.late).length, line: S.routeLayer.hasLayer(r.line) ? r.line.getLatLngs().length : 0,
               track: S.track ? S.track.getLatLngs().length : 0 };
    },
    // One order (the Lookup window): the customer's stop, and the van if known, in view.
    focusOrder(o) {
      if (S.orderLayer) S.orderLayer.remove();
      S.orderLayer = L.layerGroup().addTo(S.map);
      const points = [[o.stop.lat, o.stop.lon]];
      L.circleMarker(points[0], {
        radius: 8, color: "#ffffff", weight: 2, fillColor: S.stopColors[o.stop.status] || "#9e9e9e", fillOpacity: 0.95,
      }).bindTooltip(escapeHtml(o.stop.label), { direction: "top", permanent: true }).addTo(S.orderLayer);
      if (o.vehicle) points.push([o.vehicle.lat, o.vehicle.lon]);
      S.autoFit = false;
      if (points.length === 1) S.map.setView(points[0], 15, STILL);
      else S.map.fitBounds(L.latLngBounds(points), { padding: [50, 50], maxZoom: 16, ...STILL });
      S.order = o;
    },
    orderInfo() { return S.order ? { stop: S.order.stop, vehicle: S.order.vehicle, markers: Object.keys(S.markers).length } : null; },
    // Read-only views of the page's state, for tests and diagnostics.
    info(id) {
      const m = S.markers[id];
      if (!m) return null;
      const ll = m.getLatLng();
      return { lat: ll.lat, lon: ll.lng, state: m.fd.state, course: m.fd.course, label: m.fd.label,
               selected: S.selected === id, trail: S.trails[id] ? S.trails[id].points.length : 0 };
    },
    count() { return Object.keys(S.markers).length; },
    stats() {
      const times = Object.values(S.markers).map((m) => m.fd.t);
      return { count: times.length, newest: times.length ? Math.max(...times) : null,
               oldest: times.length ? Math.min(...times) : null };
    },
    notice() { return S.notice ? S.notice.textContent : ""; },
    center() { const c = S.map.getCenter(); return { lat: c.lat, lon: c.lng, zoom: S.map.getZoom() }; },
    clickMarker(id) { if (S.markers[id]) S.markers[id].fire("click"); },
  };
  window.fleetMap = api;
})();
