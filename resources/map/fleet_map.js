// The fleet map's own code: markers, trails and selection, driven from Python.
// Python calls window.fleetMap.* through runJavaScript with JSON arguments;
// the page calls back through the QWebChannel object "bridge".
(function () {
  "use strict";
  const S = {
    map: null, bridge: null, markers: {}, trails: {}, selected: null, follow: false,
    routes: {}, routeLayer: null, selectedRoute: null, track: null,
    trailMs: 10 * 60 * 1000, autoFit: true, colors: {}, notice: null, tileHost: "", tilesOk: false, tileErrors: 0,
    tileState: "", streets: null,
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
      html: '<div class="' + cls + '" data-state="' + v.state + '" title="' + escapeHtml(v.label) + '">'
        + arrow(S.colors[v.state] || "#555", v.course) + '<span class="fd-label">' + escapeHtml(v.label) + "</span></div>",
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

  // The tiles' state: "none" (no tile server configured), "failing" (tiles cannot load), "ok", or "" (not known
  // yet). The notice says what is drawn instead; the road map's streets stand in where tiles do not load.
  function tilesMissing() { return S.tileState === "none" || S.tileState === "failing"; }

  function noticeText() {
    const streets = S.streets && S.streets.config ? "the road map's streets (" + S.streets.config.name + ")" : null;
    if (S.tileState === "none") {
      return "No map tile server is configured: " + (streets ? streets + " and the vehicles are shown."
        : "vehicles are shown on a plain background.");
    }
    if (S.tileState === "failing") {
      return "Map tiles from " + S.tileHost + " cannot be loaded (offline?): "
        + (streets ? streets + " and the vehicles are shown." : "vehicles are still shown.");
    }
    return "";
  }

  // On a small map (the lookup's) the notice says it in a few words (the whole of it in its tooltip), so it
  // leaves room for what the map is there to show.
  const SMALL_MAP_PX = 520;

  function showNotice() {
    const text = noticeText();
    const small = S.map.getSize().x < SMALL_MAP_PX;
    const streets = S.streets && S.streets.config;
    S.notice.textContent = text && small
      ? "Map tiles cannot be loaded: " + (streets ? "road map streets shown." : "plain background.") : text;
    S.notice.title = text;
    S.noticeFull = text;
    S.notice.style.display = text ? "block" : "none";
    if (S.order) fitOrder();
  }

  // Vehicle labels stay clear of each other, of other vans' arrows, of the depot's label and of the map's controls
  // (zoom, legend, notice, scale): each goes to the first free spot round its van (right, left, above, below), the
  // selected van's first; a label with no free spot is hidden (its van's name shows on hover) until there is room.
  const LABEL_SPOTS = [[26, 4, false], [2, 4, true], [18, -15, false], [18, 25, false], [10, -15, true], [10, 25, true]];

  function overlap(a, b) { return !(a.r <= b.l || b.r <= a.l || a.b <= b.t || b.b <= a.t); }

  function boxOf(el) {
    const r = el.getBoundingClientRect(), c = S.map.getContainer().getBoundingClientRect();
    return { l: r.left - c.left, t: r.top - c.top, r: r.right - c.left, b: r.bottom - c.top };
  }

  function layoutLabels() {
    S.layoutQueued = false;
    if (!S.map) return;
    const taken = [];
    const depot = S.depotMarker && S.depotMarker.getElement() && S.depotMarker.getElement().querySelector(".fd-depot");
    if (depot) taken.push(boxOf(depot));
    for (const control of S.map.getContainer().querySelectorAll(".leaflet-control")) {  // zoom, legend, notice...
      if (control.offsetWidth) taken.push(boxOf(control));
    }
    const size = S.map.getSize();
    const shown = [];
    for (const m of Object.values(S.markers)) {
      const p = S.map.latLngToContainerPoint(m.getLatLng());
      if (p.x < -150 || p.y < -50 || p.x > size.x + 50 || p.y > size.y + 50) continue;
      m.fdPoint = p;
      shown.push(m);
      taken.push({ l: p.x - 10, t: p.y - 10, r: p.x + 10, b: p.y + 10, owner: m });  // its arrow
    }
    shown.sort((a, b) => (b.fd.id === S.selected) - (a.fd.id === S.selected) || a.fd.id - b.fd.id);
    for (const m of shown) {
      const el = m.getElement();
      const label = el && el.querySelector(".fd-label");
      if (!label) continue;
      const w = label.offsetWidth, h = label.offsetHeight, p = m.fdPoint;
      let spot = null;
      for (const within of [true, false]) {  // a spot inside the map first, one past its edge if none
        for (const [dx, dy, leftward] of LABEL_SPOTS) {
          const x = leftward ? dx - w : dx;
          const box = { l: p.x - 14 + x, t: p.y - 14 + dy, r: p.x - 14 + x + w, b: p.y - 14 + dy + h };
          if (within && (box.l < 0 || box.t < 0 || box.r > size.x || box.b > size.y)) continue;
          if (!taken.some((o) => o.owner !== m && overlap(o, box))) { spot = [x, dy, box]; break; }
        }
        if (spot) break;
      }
      if (spot) {
        label.style.left = spot[0] + "px";
        label.style.top = spot[1] + "px";
        label.style.visibility = "";
        taken.push(spot[2]);
      } else {
        label.style.visibility = "hidden";
      }
    }
  }

  function queueLayout() {
    if (S.layoutQueued) return;
    S.layoutQueued = true;
    requestAnimationFrame(layoutLabels);
  }

  // What the colours mean, in a corner: collapsed to its title on a small map, a click opens or closes it.
  const STATE_WORDS = { moving: "moving", stopped: "stopped", stale: "no recent fix", offline: "offline",
                        "no fix": "no position" };
  const STOP_WORDS = { pending: "to do", arrived: "van at the stop", delivered: "delivered", failed: "failed",
                       late: "will be late" };

  function addLegend() {
    const Legend = L.Control.extend({
      onAdd() {
        const div = L.DomUtil.create("div", "fd-legend leaflet-control");
        const row = (swatch, words) => '<div class="fd-legend-row">' + swatch + escapeHtml(words) + "</div>";
        let html = '<div class="fd-legend-title">Legend</div><div class="fd-legend-body"><div class="fd-legend-head">Vans</div>';
        for (const state in STATE_WORDS) {
          if (S.colors[state]) {
            html += row('<svg class="fd-legend-arrow" viewBox="0 0 28 28"><path d="M14 3 L22 23 L14 18 L6 23 Z" fill="'
              + S.colors[state] + '"/></svg>', STATE_WORDS[state]);
          }
        }
        html += '<div class="fd-legend-head">Stops</div>';
        for (const status in STOP_WORDS) {
          if (S.stopColors[status]) {
            html += row('<span class="fd-legend-dot" style="background:' + S.stopColors[status] + '"></span>',
                        STOP_WORDS[status]);
          }
        }
        div.innerHTML = html + "</div>";
        L.DomEvent.disableClickPropagation(div);
        div.querySelector(".fd-legend-title").addEventListener("click", () => div.classList.toggle("fd-collapsed"));
        return div;
      },
    });
    S.legend = new Legend({ position: "topright" }).addTo(S.map);
    if (S.map.getSize().x < 600) S.legend.getContainer().classList.add("fd-collapsed");
  }

  // The order the lookup shows, clear of the notice and the scale bar below, and of its own label above.
  function fitOrder() {
    const o = S.order;
    if (!o || !S.map) return;
    const points = [[o.stop.lat, o.stop.lon]];
    if (o.vehicle) points.push([o.vehicle.lat, o.vehicle.lon]);
    const size = S.map.getSize();
    const below = S.notice.style.display === "block" ? S.notice.offsetHeight + 45 : 40;
    const room = (px, side) => Math.max(0, Math.min(px, Math.floor(side / 2) - 20));
    S.map.fitBounds(L.latLngBounds(points), {
      paddingTopLeft: [room(50, size.x), room(60, size.y)],
      paddingBottomRight: [room(50, size.x), room(below, size.y)], maxZoom: points.length === 1 ? 15 : 16, ...STILL,
    });
  }

  function reportTiles() {
    if (S.bridge) S.bridge.tileStatus(S.noticeFull || "");
  }

  function setTileState(state) {
    S.tileState = state;
    showNotice();
    drawStreets();
    reportTiles();
  }

  function watchTiles() {
    let tiles = null;
    S.map.eachLayer((layer) => { if (layer instanceof L.TileLayer) tiles = layer; });
    if (!tiles) {
      setTileState("none");
      return;
    }
    tiles.on("tileerror", () => {
      S.tileErrors += 1;
      if (!S.tilesOk && S.tileState !== "failing") setTileState("failing");
    });
    tiles.on("tileload", () => {
      if (!S.tilesOk) { S.tilesOk = true; setTileState("ok"); }
    });
  }

  // The road map's streets, a plain base layer where tiles cannot load: main roads at low zoom, every street
  // from ALL_STREETS_ZOOM; bridges drawn over what they cross, with a dark edge. Files are read from disk
  // (file:// URLs), never from the network.
  const ALL_STREETS_ZOOM = 14;
  const MAIN_STYLE = {
    motorway: ["#e98f7b", 5], trunk: ["#f3b27c", 5], primary: ["#fbd38d", 4.5], secondary: ["#fdeab0", 4],
    tertiary: ["#fffbe8", 3.5],
  };
  const WATER = { color: "#8fbfd8", weight: 1, fillColor: "#aad3df", fillOpacity: 1, interactive: false };

  function streetLook(highway) {
    const base = String(highway || "").replace(/_link$/, "");
    const main = MAIN_STYLE[base];
    const scale = S.map.getZoom() >= 16 ? 2 : S.map.getZoom() >= 14 ? 1.4 : S.map.getZoom() >= 12 ? 1 : 0.7;
    const [color, width] = main || ["#ffffff", base === "service" ? 1.5 : 2.5];
    return { color: color, width: Math.max(1, width * scale) };
  }

  function readJson(url, done) {
    const xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.onload = () => {
      try { done(JSON.parse(xhr.responseText)); } catch (e) { console.error("road map: " + url + ": " + e); }
    };
    xhr.onerror = () => console.error("road map: " + url + " cannot be read");
    xhr.send();
  }

  function wantedLevel() { return S.map.getZoom() >= ALL_STREETS_ZOOM ? "all" : "main"; }

  function drawStreets() {
    const st = S.streets;
    if (!st) return;
    const wanted = st.config && tilesMissing();
    if (!wanted) {
      st.group.clearLayers();
      st.drawn = null;
      if (st.group._map) st.group.remove();
      return;
    }
    if (!st.group._map) st.group.addTo(S.map);
    const level = wantedLevel();
    if (!st.data[level]) {
      if (!st.loading[level]) {
        st.loading[level] = true;
        const config = st.config;
        readJson(config[level], (data) => {
          if (S.streets.config !== config) return;  // another map meanwhile
          st.data[level] = data;
          drawStreets();
        });
      }
      if (st.drawn) return;  // keep what is drawn until the other level is read
      const other = level === "all" ? "main" : "all";
      if (!st.data[other]) return;
      return drawLevel(other);
    }
    const key = level + ":" + streetLook("residential").width;
    if (st.drawn !== key) drawLevel(level);
  }

  function drawLevel(level) {
    const st = S.streets;
    st.group.clearLayers();
    const renderer = st.renderer;
    if (st.water) {
      // Water areas filled; rivers and canals given as lines drawn as wide as a main road, streams thin.
      const scale = streetLook("residential").width / 2.5;
      L.geoJSON(st.water, { renderer: renderer, interactive: false, style: (f) => {
        const kind = f.properties && (f.properties.waterway || f.properties.water);
        if (f.geometry && /Polygon/.test(f.geometry.type)) return WATER;
        return { color: WATER.fillColor, weight: (kind === "river" || kind === "canal" ? 6 : 2) * scale, opacity: 1 };
      } }).addTo(st.group);
    }
    const features = st.data[level].features || [];
    const layer = (bridges, casing) => L.geoJSON({ type: "FeatureCollection", features: features }, {
      renderer: renderer, interactive: false,
      filter: (f) => !!(f.properties && f.properties.bridge) === bridges,
      style: (f) => {
        const look = streetLook(f.properties && f.properties.highway);
        if (casing) {
          return { color: bridges ? "#3c3c3c" : "#b8afa3", weight: look.width + (bridges ? 3 : 1.5), opacity: 1,
                   lineCap: bridges ? "butt" : "round" };
        }
        return { color: look.color, weight: look.width, opacity: 1 };
      },
    }).addTo(st.group);
    layer(false, true);
    layer(false, false);
    layer(true, true);
    layer(true, false);
    st.drawn = level + ":" + streetLook("residential").width;
    st.level = level;
    st.count = features.length;
    st.bridges = features.filter((f) => f.properties && f.properties.bridge).length;
  }

  const api = {
    init(mapName, config) {
      S.map = window[mapName];
      S.map.options.zoomSnap = 0.25;  // fit the fleet snugly; zooming by hand still steps by whole levels
      S.colors = config.colors;
      S.trailMs = config.trailMinutes * 60000;
      S.tileHost = config.tileHost;
      S.stopColors = config.stopColors || {};
      // The notice is a control in the scale bar's corner: Leaflet stacks the two, so neither covers the other.
      const Notice = L.Control.extend({
        onAdd() { return L.DomUtil.create("div", "fd-notice leaflet-control"); },
      });
      S.noticeControl = new Notice({ position: "bottomleft" }).addTo(S.map);
      S.notice = S.noticeControl.getContainer();
      S.map.createPane("fdStreets").style.zIndex = 250;  // above tiles (200), below routes and markers (400+)
      S.streets = {
        config: null, data: {}, loading: {}, water: null, drawn: null, level: null, count: 0,
        group: L.layerGroup(), renderer: L.canvas({ pane: "fdStreets", padding: 0.5 }),
      };
      S.map.on("zoomend", drawStreets);
      if (config.depot) {
        // A dot at the depot and its label below, where a van standing at the depot does not cover it.
        S.depotMarker = L.marker(config.depot, {
          interactive: false, keyboard: false, zIndexOffset: -1000,
          icon: L.divIcon({ className: "fd-depot-mark", html: '<div class="fd-depot-dot"></div><div class="fd-depot">Depot</div>',
                            iconSize: [60, 40], iconAnchor: [30, 6] }),
        }).addTo(S.map);
      }
      addLegend();
      S.map.on("zoomend", queueLayout);
      S.map.on("resize", () => { showNotice(); queueLayout(); });
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
        if (S.tileState) reportTiles();
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
      queueLayout();
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
      queueLayout();
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
      S.autoFit = false;
      S.order = o;
      fitOrder();
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
    notice() { return S.notice ? S.noticeFull || "" : ""; },
    noticeShown() { return S.notice ? S.notice.textContent : ""; },
    // Where labels, arrows, the depot's label and the stop of a focused order are on screen (tests).
    layout() {
      layoutLabels();
      const depot = S.depotMarker && S.depotMarker.getElement() && S.depotMarker.getElement().querySelector(".fd-depot");
      const out = { depot: depot ? boxOf(depot) : null, vans: {}, notice: S.notice.style.display === "block" ? boxOf(S.notice) : null,
                    legend: S.legend ? boxOf(S.legend.getContainer()) : null,
                    legendCollapsed: S.legend ? S.legend.getContainer().classList.contains("fd-collapsed") : null,
                    stop: null };
      for (const id in S.markers) {
        const el = S.markers[id].getElement();
        if (!el) continue;
        const label = el.querySelector(".fd-label");
        const p = S.map.latLngToContainerPoint(S.markers[id].getLatLng());
        out.vans[id] = { icon: { l: p.x - 10, t: p.y - 10, r: p.x + 10, b: p.y + 10 }, label: boxOf(label),
                         hidden: label.style.visibility === "hidden" };
      }
      if (S.orderLayer) {
        S.orderLayer.eachLayer((layer) => {
          if (layer instanceof L.CircleMarker) {
            const p = S.map.latLngToContainerPoint(layer.getLatLng());
            const r = layer.getRadius();
            out.stop = { l: p.x - r, t: p.y - r, r: p.x + r, b: p.y + r };
          }
        });
      }
      return out;
    },
    // The road map's streets (null: none): {name, main, all, water} as file:// URLs of GeoJSON files.
    setStreets(config) {
      const st = S.streets;
      st.config = config || null;
      st.data = {};
      st.loading = {};
      st.water = null;
      st.drawn = null;
      st.count = 0;
      st.group.clearLayers();
      if (config && config.water) {
        readJson(config.water, (data) => {
          if (st.config !== config) return;
          st.water = data;
          st.drawn = null;
          drawStreets();
        });
      }
      showNotice();
      reportTiles();
      drawStreets();
    },
    streetInfo() {
      const st = S.streets;
      return { map: st.config ? st.config.name : null, shown: !!(st.group._map && st.drawn), level: st.drawn ? st.level : null,
               features: st.drawn ? st.count : 0,
               bridges: st.drawn ? st.bridges : 0, water: st.water ? (st.water.features || []).length : 0,
               tiles: S.tileState, zoom: S.map.getZoom() };
    },
    streetPixels() {  // how many pixels the street layer painted
      const canvas = S.map.getPane("fdStreets").querySelector("canvas");
      if (!canvas || !canvas.width) return 0;
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
      return painted;
    },
    setZoom(zoom) { S.autoFit = false; S.map.setZoom(zoom, STILL); },
    overlaps(a, b) {
      const ea = document.querySelector(a), eb = document.querySelector(b);
      if (!ea || !eb) return null;
      const ra = ea.getBoundingClientRect(), rb = eb.getBoundingClientRect();
      return !(ra.right <= rb.left || rb.right <= ra.left || ra.bottom <= rb.top || rb.bottom <= ra.top);
    },
    center() { const c = S.map.getCenter(); return { lat: c.lat, lon: c.lng, zoom: S.map.getZoom() }; },
    clickMarker(id) { if (S.markers[id]) S.markers[id].fire("click"); },
  };
  window.fleetMap = api;
})();
