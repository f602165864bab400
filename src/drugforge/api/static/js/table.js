// A results table: sortable by clicking a header, filterable by text, exportable as CSV.
// Rows with an `error` keep their place (shown in red across the value columns) and sort last.

import { el, fmt, mount, toCSV } from "./util.js";
import { grade, thresholdOf } from "./thresholds.js";

/**
 * columns: [{key, label, title?, render?(row) -> Node|string, value?(row) -> sortable value,
 *            graded?: bool (colour by thresholds.js), numeric?: bool}]
 */
export class DataTable {
  constructor(columns, rows, { onRowClick = null, rowTitle = null, pageSize = 500 } = {}) {
    this.columns = columns;
    this.rows = rows.map((row, i) => ({ ...row, __order: i }));
    this.onRowClick = onRowClick;
    this.rowTitle = rowTitle;
    this.pageSize = pageSize;
    this.sortKey = null;
    this.sortDir = 1;
    this.filter = "";
    this.shown = pageSize;
    this.body = el("tbody");
    this.head = el("thead");
    this.count = el("span", { class: "muted", "data-testid": "row-count" });
    this.more = el("div", { class: "more" });
    this.table = el("table", { class: "data" }, this.head, this.body);
  }

  value(col, row) {
    return col.value ? col.value(row) : row[col.key];
  }

  visibleRows() {
    const needle = this.filter.trim().toLowerCase();
    let rows = this.rows;
    if (needle) {
      rows = rows.filter((r) => this.columns.some((c) => {
        const v = this.value(c, r);
        return v !== null && v !== undefined && String(v).toLowerCase().includes(needle);
      }) || (r.error && r.error.toLowerCase().includes(needle)));
    }
    if (this.sortKey !== null) {
      const col = this.columns.find((c) => c.key === this.sortKey);
      const missing = (v) => v === null || v === undefined || v === "" ||
        (typeof v === "number" && !Number.isFinite(v));
      rows = [...rows].sort((a, b) => {
        if (!!a.error !== !!b.error) return a.error ? 1 : -1;
        const va = this.value(col, a), vb = this.value(col, b);
        if (missing(va) || missing(vb)) return missing(va) - missing(vb) || a.__order - b.__order;
        const cmp = typeof va === "number" && typeof vb === "number"
          ? va - vb : String(va).localeCompare(String(vb));
        return cmp * this.sortDir || a.__order - b.__order;
      });
    }
    return rows;
  }

  setFilter(text) {
    this.filter = text;
    this.shown = this.pageSize;
    this.renderBody();
  }

  sortBy(key) {
    if (this.sortKey === key) this.sortDir = -this.sortDir;
    else { this.sortKey = key; this.sortDir = 1; }
    this.renderHead();
    this.renderBody();
  }

  renderHead() {
    mount(this.head, el("tr", {}, this.columns.map((c) => {
      const t = thresholdOf(c.key);
      const arrow = this.sortKey === c.key ? (this.sortDir > 0 ? " ▲" : " ▼") : "";
      return el("th", {
        class: c.numeric ? "num sortable" : "sortable", title: c.title || (t ? t.note : "click to sort"),
        onclick: () => this.sortBy(c.key), "aria-sort": this.sortKey === c.key
          ? (this.sortDir > 0 ? "ascending" : "descending") : null,
      }, c.label, arrow);
    })));
  }

  cell(col, row) {
    if (col.render) return el("td", { class: col.cls || "" }, col.render(row));
    const v = this.value(col, row);
    const g = col.graded ? grade(col.key, v) : "";
    return el("td", { class: [col.numeric ? "num" : "", g ? `grade-${g}` : ""].join(" ").trim() },
      col.numeric ? fmt(v) : v ?? "");
  }

  renderBody() {
    const rows = this.visibleRows();
    const slice = rows.slice(0, this.shown);
    const fixed = this.columns.filter((c) => c.keepOnError);
    mount(this.body, slice.map((row) => {
      if (row.error) {
        const rest = this.columns.length - fixed.length;
        return el("tr", { class: "error-row", "data-testid": "error-row" },
          fixed.map((c) => this.cell(c, row)),
          el("td", { colspan: rest, class: "error-text" }, "⚠ ", row.error));
      }
      const tr = el("tr", { class: this.onRowClick ? "clickable" : "",
                           title: this.rowTitle ? this.rowTitle(row) : null },
        this.columns.map((c) => this.cell(c, row)));
      if (this.onRowClick) tr.addEventListener("click", () => this.onRowClick(row));
      return tr;
    }));
    const n = this.rows.length, m = rows.length;
    this.count.textContent = m === n ? `${n} rows` : `${m} of ${n} rows`;
    mount(this.more, m > slice.length
      ? el("button", { class: "secondary", onclick: () => { this.shown += this.pageSize; this.renderBody(); } },
        `Show ${Math.min(this.pageSize, m - slice.length)} more (${m - slice.length} hidden)`)
      : null);
    if (this.afterRender) this.afterRender(this.body);
  }

  render() {
    this.renderHead();
    this.renderBody();
    return el("div", { class: "table-wrap" }, this.table, this.more);
  }

  /** CSV of the visible rows (filter and sort applied) with the given columns. */
  csv(keys) {
    return toCSV(keys, this.visibleRows());
  }
}
