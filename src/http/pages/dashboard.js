'use strict';
// The district at a glance (/dashboard): one card per township with its progress against its
// targets, its assets by status, revitalizations per year, loans by bank, dividends per year, and
// a small map of it. Every figure comes from the GraphQL API's statistics and targets, in one
// request; charts are plain SVG (a few bars and a polygon need no chart library). Anonymous
// visitors see the public figures; a token (the map page's, in this tab's sessionStorage) shows
// targets and lending too.
(function () {
  var TOKEN_KEY = 'rr-map-token';
  var token = sessionStorage.getItem(TOKEN_KEY) || '';
  var year = new Date().getFullYear();
  var SVG = 'http://www.w3.org/2000/svg';

  var STATUS = [
    ['IDENTIFIED', '摸底登记', '#9e9e9e'], ['VERIFIED', '已核实', '#5c6bc0'], ['LISTED', '挂牌招引', '#1e88e5'],
    ['NEGOTIATING', '洽谈中', '#fb8c00'], ['REVITALIZED', '已盘活', '#43a047'],
    ['RELINQUISHED', '有偿退出', '#6d4c41'], ['WITHDRAWN', '撤回', '#bdbdbd'],
  ];
  var MEASURE = {
    ASSETS_REGISTERED: ['新增登记闲置资产', '处'], ASSETS_REVITALIZED: ['新增盘活资产', '处'],
    HOUSEHOLDS_BENEFITED: ['受益农户', '户'], INVESTMENT_FEN: ['盘活投资额', '万元'],
    JOBS_CREATED: ['带动就业', '人'], LOANS_DISBURSED_FEN: ['放款金额', '万元'],
    DIVIDENDS_PAID_FEN: ['分红金额', '万元'], REVITALIZED_SHARE: ['资产盘活率', '%'],
    SHAREHOLDER_HOUSEHOLDS: ['持股农户', '户'],
  };
  var PACE = { AHEAD: ['超前', '#2e7d32'], ON_TRACK: ['正常', '#1565c0'], BEHIND: ['滞后', '#c62828'] };

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  // An amount of a measure as people write it: fen as 万元, shares as percentages.
  function amount(measure, value) {
    if (value === null || value === undefined) { return '—'; }
    if (/_FEN$/.test(measure)) { return (value / 1000000).toFixed(2); }
    if (measure === 'REVITALIZED_SHARE') { return (value * 100).toFixed(1); }
    return String(Math.round(value * 100) / 100);
  }
  function yuan(fen) { return fen === null || fen === undefined ? '—' : (Number(fen) / 1000000).toFixed(2) + ' 万元'; }

  function graphql(query, variables) {
    var headers = { 'Content-Type': 'application/json' };
    if (token) { headers.Authorization = 'Bearer ' + token; }
    return fetch('/graphql', {
      method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables }),
    }).then(function (r) { return r.json(); });
  }

  // Public figures for everyone; targets and lending with a token.
  function query(withToken) {
    var signed = withToken
      ? 'targets(year: $year) { measure value progress { actual ratio expected status } } ' +
        'loansBy(dimension: BANK) { key label disbursedFen outstandingFen } '
      : '';
    return 'query Dashboard($year: Int!) { townships(first: 100) { nodes { code name ' +
      'boundary ' +
      'statistics { assets { count revitalized revitalizedShare byStatus { status count } } ' +
      'revitalizationsBy(dimension: START_YEAR) { key count householdsBenefited } ' +
      'shares { dividends { year paidFen } } ' + signed + '} } } }';
  }

  // ---- Charts --------------------------------------------------------------------------
  // Horizontal bars, one per row: [label, value, colour, text].
  function bars(rows, title) {
    var max = rows.reduce(function (m, r) { return Math.max(m, r[1] || 0); }, 0) || 1;
    var h = 16;
    var chart = svg('svg', { viewBox: '0 0 300 ' + (rows.length * h + 2), width: '100%', role: 'img', 'aria-label': title });
    rows.forEach(function (r, i) {
      var y = i * h + 1;
      var label = svg('text', { x: 0, y: y + 11, 'font-size': 10 });
      // Long names (a bank's) are cut to fit; the whole name is the tooltip.
      label.textContent = r[0].length > 7 ? r[0].slice(0, 6) + '…' : r[0];
      var whole = svg('title', {});
      whole.textContent = r[0];
      label.appendChild(whole);
      chart.appendChild(label);
      chart.appendChild(svg('rect', { x: 78, y: y + 2, height: h - 5, width: Math.max(1, 150 * (r[1] || 0) / max), fill: r[2] }));
      var value = svg('text', { x: 298, y: y + 11, 'font-size': 10, 'text-anchor': 'end' });
      value.textContent = r[3] !== undefined ? r[3] : String(r[1] || 0);
      chart.appendChild(value);
    });
    return el('figure', {}, [el('figcaption', { text: title }), chart]);
  }

  // The township's outline, fitted in a small box (equirectangular, latitude-corrected).
  function outline(geojson) {
    var polys = geojson.type === 'MultiPolygon' ? geojson.coordinates : [geojson.coordinates];
    var xs = [], ys = [];
    polys.forEach(function (p) { p[0].forEach(function (c) { xs.push(c[0]); ys.push(c[1]); }); });
    var w = Math.min.apply(null, xs), e = Math.max.apply(null, xs);
    var s = Math.min.apply(null, ys), n = Math.max.apply(null, ys);
    var k = Math.cos((s + n) / 2 * Math.PI / 180);
    var scale = 90 / Math.max((e - w) * k, n - s, 1e-9);
    var d = polys.map(function (p) {
      return p.map(function (ring) {
        return 'M' + ring.map(function (c) {
          return ((c[0] - w) * k * scale + 5).toFixed(1) + ' ' + ((n - c[1]) * scale + 5).toFixed(1);
        }).join('L') + 'Z';
      }).join('');
    }).join('');
    var box = svg('svg', { viewBox: '0 0 100 100', class: 'outline', role: 'img', 'aria-label': '乡镇范围' });
    box.appendChild(svg('path', { d: d, fill: '#d7ccc8', stroke: '#5d4037', 'stroke-width': 1.2 }));
    return box;
  }

  // ---- Cards ---------------------------------------------------------------------------
  function progress(t) {
    var pace = PACE[t.progress.status] || ['', '#455a64'];
    var ratio = t.progress.ratio === null ? 0 : Math.min(t.progress.ratio, 1);
    var m = MEASURE[t.measure] || [t.measure, ''];
    var bar = el('div', { class: 'bar' }, [el('span', { style: 'width:' + (ratio * 100).toFixed(1) + '%;background:' + pace[1] })]);
    var marker = t.progress.expected && t.value ? Math.min(t.progress.expected / t.value, 1) : null;
    if (marker !== null) { bar.appendChild(el('i', { style: 'left:' + (marker * 100).toFixed(1) + '%', title: '应完成进度' })); }
    return el('li', {
      class: 'target', 'data-measure': t.measure, 'data-status': t.progress.status,
      'data-actual': String(t.progress.actual), 'data-value': String(t.value),
    }, [
      el('div', { class: 'what' }, [
        el('span', { text: m[0] }),
        el('span', { class: 'figure', text: amount(t.measure, t.progress.actual) + ' / ' + amount(t.measure, t.value) + ' ' + m[1] }),
        el('span', { class: 'pace', style: 'color:' + pace[1], text: pace[0] + ' ' + t.progress.status }),
      ]),
      bar,
    ]);
  }

  function card(t) {
    var st = t.statistics;
    var a = st.assets;
    var children = [
      el('header', {}, [
        outline(t.boundary),
        el('div', {}, [
          el('h2', { text: t.name }),
          el('p', { class: 'code', text: t.code }),
          el('p', { text: '闲置资产 ' + (a.count === null ? '—' : a.count) + ' 处 · 已盘活 ' + (a.revitalized === null ? '—' : a.revitalized) +
            ' 处 · 盘活率 ' + (a.revitalizedShare === null ? '—' : (a.revitalizedShare * 100).toFixed(1) + '%') }),
        ]),
      ]),
    ];
    if (st.targets) {
      var list = el('ul', { class: 'targets' });
      st.targets.forEach(function (x) { list.appendChild(progress(x)); });
      children.push(el('section', {}, [el('h3', { text: year + ' 年目标任务' }), st.targets.length ? list : el('p', { class: 'none', text: '本年未下达目标' })]));
    }
    var byStatus = {};
    a.byStatus.forEach(function (s) { byStatus[s.status] = s.count; });
    children.push(bars(STATUS.map(function (s) { return [s[1], byStatus[s[0]] || 0, s[2]]; }), '资产状态'));
    var years = st.revitalizationsBy.slice(-6);
    children.push(years.length
      ? bars(years.map(function (r) { return [r.key + ' 年', r.count || 0, '#43a047', (r.count || 0) + ' 处']; }), '逐年盘活')
      : el('p', { class: 'none', text: '暂无盘活记录' }));
    if (st.loansBy) {
      children.push(st.loansBy.length
        ? bars(st.loansBy.map(function (l) { return [l.label || l.key, Number(l.disbursedFen), '#6a1b9a', yuan(l.disbursedFen)]; }), '各银行放款')
        : el('p', { class: 'none', text: '暂无放款' }));
    }
    var dividends = st.shares.dividends.slice(-6);
    children.push(dividends.length
      ? bars(dividends.map(function (d) { return [d.year + ' 年', Number(d.paidFen), '#ef6c00', yuan(d.paidFen)]; }), '逐年分红')
      : el('p', { class: 'none', text: '暂无分红' }));
    return el('article', { class: 'township', 'data-township': t.code }, children);
  }

  function render() {
    var who = document.getElementById('who');
    who.textContent = token ? '已登录：显示目标任务与贷款' : '未登录：只显示公开数字（在地图页登录后显示目标任务与贷款）';
    document.getElementById('year').textContent = year;
    // A token that may not read targets or lending (a BANK's, for targets) gets the public part.
    graphql(query(!!token), { year: year }).then(function (r) {
      return r.data || !token ? r : graphql(query(false), { year: year });
    }).then(function (r) {
      var main = document.getElementById('cards');
      if (!r.data) {
        main.replaceChildren(el('p', { class: 'error', text: (r.errors && r.errors[0] && r.errors[0].message) || '无法读取统计数据' }));
        return;
      }
      main.replaceChildren.apply(main, r.data.townships.nodes.map(card));
      document.body.setAttribute('data-loaded', 'true');
    });
  }
  render();
})();
