// The JSME structure editor (vendored under /static/vendor/jsme, BSD licence), loaded on first use.

let loading = null;

function load() {
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const previous = window.jsmeOnLoad;
    window.jsmeOnLoad = () => { if (previous) previous(); resolve(); };
    const script = document.createElement("script");
    script.src = "/static/vendor/jsme/jsme.nocache.js";
    script.onerror = () => { loading = null; reject(new Error("the structure editor did not load")); };
    document.head.append(script);
  });
  return loading;
}

/** Create a JSME editor inside the element with id `id`; resolves to the JSApplet.JSME object. */
export async function createEditor(id, width = "560px", height = "340px") {
  await load();
  // eslint-disable-next-line no-undef
  return new JSApplet.JSME(id, width, height);
}
