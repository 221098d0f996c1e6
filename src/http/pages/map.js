'use strict';
// The registry's own map (/map): MapLibre GL JS over the registry's vector tiles, served with
// everything it needs by the registry itself. No other host is reached unless the district sets
// a base map. A token pasted in the sign-in field stays in this tab's sessionStorage only and
// goes, as a bearer token, with the tile and API requests to this server.
(function () {
  var config = JSON.parse(document.getElementById('rr-config').textContent);
  var TOKEN_KEY = 'rr-map-token';
  var LANG_KEY = 'rr-map-lang';
  var token = sessionStorage.getItem(TOKEN_KEY) || '';
  var lang = sessionStorage.getItem(LANG_KEY) || 'zh';

  // Chinese first; English by the toggle.
  var TEXT = {
    zh: {
      title: '闲置资产地图', townships: '乡镇', villages: '行政村', assets: '闲置农房/宅基地',
      sites: '示范点', cluster: '资产聚合（数量）', signIn: '登录', signOut: '退出',
      tokenPlaceholder: '粘贴访问令牌 rr_…', anonymous: '未登录：只显示类型和状态（位置约 500 米）',
      signedInAs: '已登录', search: '搜索资产编号或村名', searchButton: '搜索', notFound: '未找到',
      needToken: '按资产编号搜索需要登录', kind: '类型', status: '状态', code: '资产编号',
      village: '行政村', township: '乡镇', owner: '权利人', history: '状态记录',
      inGraphiql: '在 GraphiQL 中查询', close: '关闭', count: '处资产', zoomIn: '放大查看单个资产',
      level: '级别', year: '命名年份', theme: '主题', badToken: '令牌无效或已撤销', lang: 'EN',
      legend: '图例', baseMap: '底图', zones: '征收范围', announced: '公告日期', authority: '公告机关',
    },
    en: {
      title: 'Idle asset map', townships: 'Townships', villages: 'Villages', assets: 'Idle houses and homesteads',
      sites: 'Demonstration sites', cluster: 'Asset clusters (count)', signIn: 'Sign in', signOut: 'Sign out',
      tokenPlaceholder: 'Paste an access token rr_…', anonymous: 'Not signed in: kind and status only (locations to about 500 m)',
      signedInAs: 'Signed in as', search: 'Asset code or village name', searchButton: 'Search', notFound: 'Not found',
      needToken: 'Sign in to search by asset code', kind: 'Kind', status: 'Status', code: 'Code',
      village: 'Village', township: 'Township', owner: 'Owner', history: 'Status history',
      inGraphiql: 'Query it in GraphiQL', close: 'Close', count: 'assets', zoomIn: 'Zoom in to see single assets',
      level: 'Level', year: 'Designated', theme: 'Theme', badToken: 'The token is not valid or was revoked', lang: '中文',
      legend: 'Legend', baseMap: 'Base map', zones: 'Expropriation zones', announced: 'Announced', authority: 'Authority',
    },
  };
  // The codes the API uses, with their Chinese names (the schema's docs give the same).
  var STATUS = [
    ['IDENTIFIED', '摸底登记', 'Identified', '#9e9e9e'],
    ['VERIFIED', '已核实', 'Verified', '#5c6bc0'],
    ['LISTED', '挂牌招引', 'Listed', '#1e88e5'],
    ['NEGOTIATING', '洽谈中', 'Under negotiation', '#fb8c00'],
    ['REVITALIZED', '已盘活', 'Revitalized', '#43a047'],
    ['RELINQUISHED', '有偿退出', 'Relinquished', '#6d4c41'],
    ['WITHDRAWN', '撤回', 'Withdrawn', '#bdbdbd'],
  ];
  var KIND = {
    IDLE_FARMHOUSE: ['闲置农房', 'Idle farmhouse'],
    IDLE_HOMESTEAD: ['闲置宅基地', 'Idle homestead'],
  };

  function t(key) { return TEXT[lang][key]; }
  function statusName(code) {
    var s = STATUS.find(function (x) { return x[0] === code; });
    return s ? (lang === 'zh' ? s[1] + ' ' + s[0] : s[2]) : code;
  }
  function kindName(code) {
    var k = KIND[code];
    return k ? (lang === 'zh' ? k[0] : k[1]) : code;
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  function crsParam() { return config.crs === 'WGS84' ? '' : '?crs=' + config.crs; }

  // ---- The API -------------------------------------------------------------------------
  function graphql(query, variables) {
    var headers = { 'Content-Type': 'application/json' };
    if (token) { headers.Authorization = 'Bearer ' + token; }
    return fetch('/graphql', {
      method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables || {} }),
    }).then(function (r) { return r.json(); });
  }

  // ---- The map -------------------------------------------------------------------------
  var statusColour = ['match', ['get', 'status']];
  STATUS.forEach(function (s) { statusColour.push(s[0], s[3]); });
  statusColour.push('#455a64');

  function style() {
    var sources = {
      registry: {
        type: 'vector',
        tiles: [location.origin + '/tiles/all/{z}/{x}/{y}.mvt' + crsParam()],
        minzoom: 0,
        maxzoom: 16,
      },
    };
    var layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } }];
    var extra = {};
    if (config.base && config.base.url) {
      sources.base = { type: 'raster', tiles: [config.base.url], tileSize: 256, attribution: config.base.attribution || '' };
      layers.push({ id: 'base', type: 'raster', source: 'base' });
    }
    if (baseStyle) {
      // The vector base map's sources and layers, under ours: each renamed `base:…` so that
      // none can clash with the registry's.
      Object.keys(baseStyle.sources || {}).forEach(function (id) {
        sources['base:' + id] = baseSource(baseStyle.sources[id]);
      });
      layers = (baseStyle.layers || []).map(function (layer) {
        var copy = Object.assign({}, layer, { id: 'base:' + layer.id });
        if (layer.source) { copy.source = 'base:' + layer.source; }
        return copy;
      });
      if (baseStyle.glyphs) { extra.glyphs = fromStyle(baseStyle.glyphs); }
      if (typeof baseStyle.sprite === 'string') {
        extra.sprite = fromStyle(baseStyle.sprite);
      } else if (Array.isArray(baseStyle.sprite)) {
        extra.sprite = baseStyle.sprite.map(function (s) { return { id: s.id, url: fromStyle(s.url) }; });
      }
    }
    layers.push(
      { id: 'townships-fill', type: 'fill', source: 'registry', 'source-layer': 'townships',
        paint: { 'fill-color': '#d7ccc8', 'fill-opacity': config.base ? 0.05 : 0.35 } },
      { id: 'townships-line', type: 'line', source: 'registry', 'source-layer': 'townships',
        paint: { 'line-color': '#5d4037', 'line-width': 1.6 } },
      { id: 'villages-line', type: 'line', source: 'registry', 'source-layer': 'villages',
        filter: ['==', ['geometry-type'], 'Polygon'], minzoom: 10,
        paint: { 'line-color': '#8d6e63', 'line-width': 0.8, 'line-dasharray': [3, 2] } },
      { id: 'villages-point', type: 'circle', source: 'registry', 'source-layer': 'villages',
        filter: ['==', ['geometry-type'], 'Point'], minzoom: 10,
        paint: { 'circle-radius': 3, 'circle-color': '#ffffff', 'circle-stroke-color': '#8d6e63', 'circle-stroke-width': 1 } },
      { id: 'assets-cluster', type: 'circle', source: 'registry', 'source-layer': 'idle-assets',
        filter: ['!', ['has', 'status']],
        paint: {
          'circle-color': '#37474f', 'circle-opacity': 0.55, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
          'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 3, 10, 6, 100, 11, 1000, 18],
        } },
      { id: 'assets', type: 'circle', source: 'registry', 'source-layer': 'idle-assets',
        filter: ['has', 'status'],
        paint: {
          'circle-color': statusColour, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 16, 7],
        } },
      { id: 'zones-fill', type: 'fill', source: 'registry', 'source-layer': 'expropriation-zones',
        paint: { 'fill-color': '#e53935', 'fill-opacity': 0.18 } },
      { id: 'zones-line', type: 'line', source: 'registry', 'source-layer': 'expropriation-zones',
        paint: { 'line-color': '#c62828', 'line-width': 1.5, 'line-dasharray': [2, 1] } },
      { id: 'sites', type: 'circle', source: 'registry', 'source-layer': 'demo-sites',
        paint: { 'circle-radius': 7, 'circle-color': '#c2185b', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } }
    );
    return Object.assign({ version: 8, sources: sources, layers: layers }, extra);
  }

  // ---- A vector base map (MAP_BASE_STYLE) -----------------------------------------------
  var baseStyle = null;
  // A URL of the base style, relative ones against the style's own address; a template's
  // braces stay braces.
  function fromStyle(url) {
    if (!url || /^[a-z][a-z0-9+.-]*:/i.test(url)) { return url; }
    return new URL(url, config.base.style).href.replace(/%7B/g, '{').replace(/%7D/g, '}');
  }
  function baseSource(source) {
    var copy = Object.assign({}, source);
    if (copy.url) { copy.url = fromStyle(copy.url); }
    if (copy.tiles) { copy.tiles = copy.tiles.map(fromStyle); }
    if (typeof copy.data === 'string') { copy.data = fromStyle(copy.data); }
    if (!copy.attribution && config.base.attribution) { copy.attribution = config.base.attribution; }
    return copy;
  }

  var map = new maplibregl.Map({
    container: 'map',
    style: style(),
    bounds: config.bounds,
    fitBoundsOptions: { padding: 24 },
    attributionControl: config.base ? {} : false,
    // What the map's own controls tell a screen reader, in both languages.
    locale: {
      'Map.Title': '地图 Map',
      'NavigationControl.ZoomIn': '放大 Zoom in',
      'NavigationControl.ZoomOut': '缩小 Zoom out',
    },
    // Tiles and API calls to this server carry the token; nothing else ever does.
    transformRequest: function (url) {
      if (token && url.indexOf(location.origin + '/') === 0) {
        return { url: url, headers: { Authorization: 'Bearer ' + token } };
      }
      return { url: url };
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  window.rrMap = map; // for the browser test and for a curious cadre's console
  if (config.base && config.base.style) {
    // The map opens on the plain background and takes the base map's layers when its style
    // has come; if it does not, the registry's layers stay, and the status line says why.
    fetch(config.base.style).then(function (r) {
      if (!r.ok) { throw new Error(r.status + ' ' + r.statusText); }
      return r.json();
    }).then(function (s) {
      if (s.version !== 8 || !Array.isArray(s.layers)) { throw new Error('not a MapLibre style (version 8)'); }
      baseStyle = s;
      map.setStyle(style());
      map.once('styledata', applyHidden);
    }).catch(function (e) {
      document.getElementById('search-said').textContent = t('baseMap') + ': ' + e.message;
    });
  }

  // ---- Legend and layer toggles --------------------------------------------------------
  var GROUPS = [
    ['townships', ['townships-fill', 'townships-line'], '#5d4037'],
    ['villages', ['villages-line', 'villages-point'], '#8d6e63'],
    ['assets', ['assets', 'assets-cluster'], '#1e88e5'],
    ['sites', ['sites'], '#c2185b'],
    ['zones', ['zones-fill', 'zones-line'], '#c62828'],
  ];
  var hidden = {};
  function renderLegend() {
    var legend = document.getElementById('legend');
    legend.replaceChildren(el('h2', { text: t('legend') }));
    GROUPS.forEach(function (g) {
      var id = 'toggle-' + g[0];
      var box = el('input', { type: 'checkbox', id: id });
      box.checked = !hidden[g[0]];
      box.addEventListener('change', function () {
        hidden[g[0]] = !box.checked;
        g[1].forEach(function (layer) {
          map.setLayoutProperty(layer, 'visibility', box.checked ? 'visible' : 'none');
        });
      });
      legend.appendChild(el('div', { class: 'row' }, [
        box, el('span', { class: 'swatch', style: 'background:' + g[2] }), el('label', { for: id, text: t(g[0]) }),
      ]));
    });
    var list = el('ul', { class: 'statuses' });
    STATUS.forEach(function (s) {
      list.appendChild(el('li', {}, [el('span', { class: 'dot', style: 'background:' + s[3] }), el('span', { text: statusName(s[0]) })]));
    });
    list.appendChild(el('li', {}, [el('span', { class: 'dot cluster' }), el('span', { text: t('cluster') })]));
    legend.appendChild(list);
  }
  function applyHidden() {
    GROUPS.forEach(function (g) {
      if (hidden[g[0]]) {
        g[1].forEach(function (layer) { map.setLayoutProperty(layer, 'visibility', 'none'); });
      }
    });
  }

  // ---- The card ------------------------------------------------------------------------
  var card = document.getElementById('card');
  var cardOpener = null;
  function closeCard() {
    if (card.hidden) { return; }
    card.hidden = true;
    if (cardOpener && document.contains(cardOpener)) { cardOpener.focus(); }
    cardOpener = null;
  }
  function showCard(rows, query) {
    var body = el('dl');
    rows.forEach(function (r) {
      if (r[1] === undefined || r[1] === null || r[1] === '') { return; }
      body.appendChild(el('dt', { text: r[0] }));
      body.appendChild(el('dd', { text: String(r[1]) }));
    });
    var close = el('button', { type: 'button', class: 'close', 'aria-label': t('close'), text: '×' });
    close.addEventListener('click', closeCard);
    // Closing the card gives the keyboard back to where it was when the card opened.
    if (card.hidden) { cardOpener = document.activeElement; }
    var children = [close, body];
    if (query) {
      children.push(el('a', { href: '/graphiql?query=' + encodeURIComponent(query), target: '_blank', rel: 'noopener', text: t('inGraphiql') }));
    }
    card.replaceChildren.apply(card, children);
    card.hidden = false;
    close.focus();
  }
  function assetQuery(code) {
    return '{\n  idleAsset(code: "' + code + '") {\n    code kind status floorAreaSquareMeters\n' +
      '    township { name } village { name } owner { name }\n' +
      '    history(first: 20) { nodes { at action after } }\n  }\n}\n';
  }
  function showAsset(feature) {
    var p = feature.properties;
    var rows = [[t('kind'), kindName(p.kind)], [t('status'), statusName(p.status)]];
    if (!p.code) { showCard(rows, null); return; }
    rows.unshift([t('code'), p.code]);
    showCard(rows, assetQuery(p.code));
    graphql(assetQuery(p.code)).then(function (r) {
      var a = r.data && r.data.idleAsset;
      if (!a || card.hidden) { return; }
      var history = (a.history ? a.history.nodes : []).filter(function (e) { return e.after && e.after.status; })
        .map(function (e) { return e.at.slice(0, 10) + ' ' + statusName(e.after.status); }).join('；');
      showCard([
        [t('code'), a.code], [t('kind'), kindName(a.kind)], [t('status'), statusName(a.status)],
        [t('township'), a.township && a.township.name], [t('village'), a.village && a.village.name],
        [t('owner'), a.owner && a.owner.name], [t('history'), history],
      ], assetQuery(a.code));
    });
  }
  map.on('click', function (e) {
    var hits = map.queryRenderedFeatures(e.point, { layers: ['sites', 'assets', 'assets-cluster', 'zones-fill'] });
    if (!hits.length) { card.hidden = true; return; }
    var f = hits[0];
    if (f.layer.id === 'zones-fill') {
      var z = f.properties;
      showCard([[t('zones'), z.name], [t('code'), z.code], [t('announced'), z.announcedOn], [t('authority'), z.authority]], null);
    } else if (f.layer.id === 'sites') {
      var p = f.properties;
      showCard([[t('sites'), p.name], [t('code'), p.code], [t('level'), p.level], [t('year'), p.designationYear], [t('theme'), p.theme]],
        '{\n  demoSite(code: "' + p.code + '") {\n    code name level designationYear theme\n    village { name }\n  }\n}\n');
    } else if (f.layer.id === 'assets') {
      showAsset(f);
    } else {
      showCard([[t('assets'), f.properties.count + ' ' + t('count')], ['', t('zoomIn')]], null);
      map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 16) });
    }
  });
  ['sites', 'assets', 'assets-cluster'].forEach(function (layer) {
    map.on('mouseenter', layer, function () { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, function () { map.getCanvas().style.cursor = ''; });
  });

  // ---- Signing in ----------------------------------------------------------------------
  var who = document.getElementById('who');
  function renderWho() {
    var form = document.getElementById('sign-in');
    form.replaceChildren();
    if (!token) {
      who.textContent = t('anonymous');
      var field = el('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: t('tokenPlaceholder'), 'aria-label': t('signIn') });
      var go = el('button', { type: 'submit', text: t('signIn') });
      form.appendChild(field);
      form.appendChild(go);
      return;
    }
    who.textContent = '…';
    var out = el('button', { type: 'button', id: 'sign-out', text: t('signOut') });
    out.addEventListener('click', function () { setToken(''); });
    form.appendChild(out);
    graphql('{ viewer { role label township { name } bankCode } }').then(function (r) {
      var v = r.data && r.data.viewer;
      if (!v || !v.role) { who.textContent = t('badToken'); return; }
      var scope = v.township ? v.township.name : v.bankCode ? v.bankCode : (lang === 'zh' ? '全区' : 'district');
      who.textContent = t('signedInAs') + ' ' + v.role + '（' + scope + '）· ' + v.label;
    });
  }
  function setToken(value) {
    token = value.trim();
    if (token) { sessionStorage.setItem(TOKEN_KEY, token); } else { sessionStorage.removeItem(TOKEN_KEY); }
    card.hidden = true;
    // A new style means new tile requests, with (or without) the token.
    map.setStyle(style());
    map.once('styledata', applyHidden);
    renderWho();
  }
  document.getElementById('sign-in').addEventListener('submit', function (e) {
    e.preventDefault();
    var field = document.getElementById('token');
    if (field && field.value.trim()) { setToken(field.value); }
  });

  // ---- Search --------------------------------------------------------------------------
  var villages = null;
  // Every village, a page of 100 at a time (the API's most), once.
  function loadVillages() {
    if (villages) { return Promise.resolve(villages); }
    var found = [];
    function page(after) {
      return graphql('query ($crs: Crs!, $after: String) { villages(first: 100, after: $after) { ' +
        'pageInfo { hasNextPage endCursor } nodes { code name township { name } centroid(crs: $crs) } } }',
      { crs: config.crs, after: after }).then(function (r) {
        var c = r.data && r.data.villages;
        if (!c) { return found; }
        found = found.concat(c.nodes);
        return c.pageInfo.hasNextPage ? page(c.pageInfo.endCursor) : found;
      });
    }
    return page(null).then(function (list) { villages = list; return list; });
  }
  document.getElementById('search').addEventListener('submit', function (e) {
    e.preventDefault();
    var q = document.getElementById('q').value.trim();
    var said = document.getElementById('search-said');
    said.textContent = '';
    if (!q) { return; }
    if (/^[0-9]{12}-[0-9]+$/.test(q)) {
      if (!token) { said.textContent = t('needToken'); return; }
      graphql('query ($c: String!, $crs: Crs!) { idleAsset(code: $c) { code kind status longitude(crs: $crs) latitude(crs: $crs) } }', { c: q, crs: config.crs })
        .then(function (r) {
          var a = r.data && r.data.idleAsset;
          if (!a) { said.textContent = t('notFound'); return; }
          map.flyTo({ center: [a.longitude, a.latitude], zoom: 16 });
          showAsset({ properties: a });
        });
      return;
    }
    loadVillages().then(function (list) {
      var v = list.find(function (x) { return x.name === q || x.code === q; }) ||
        list.find(function (x) { return x.name.indexOf(q) >= 0; });
      if (!v || !v.centroid) { said.textContent = t('notFound'); return; }
      map.flyTo({ center: v.centroid.coordinates, zoom: 14 });
      said.textContent = v.township.name + ' ' + v.name;
    });
  });

  // ---- Language ------------------------------------------------------------------------
  function renderText() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.getElementById('title').textContent = t('title');
    document.getElementById('q').placeholder = t('search');
    document.getElementById('q').setAttribute('aria-label', t('search'));
    document.getElementById('search-go').textContent = t('searchButton');
    document.getElementById('lang').textContent = t('lang');
    renderLegend();
    renderWho();
  }
  document.getElementById('lang').addEventListener('click', function () {
    lang = lang === 'zh' ? 'en' : 'zh';
    sessionStorage.setItem(LANG_KEY, lang);
    renderText();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { closeCard(); }
  });

  renderText();
})();
