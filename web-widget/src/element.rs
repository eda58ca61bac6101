//! The `<tm-agent-tasks>` custom element and the JS-facing API.
//!
//! The element class is defined here (a small inline JS shell, since a Rust type cannot
//! extend `HTMLElement`); everything it does is delegated to [`Widget`].

use crate::transport::FetchTransport;
use crate::view::STYLE;
use crate::widget::{js_error, Options, Widget};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

#[wasm_bindgen(inline_js = r#"
export function define_element(name, mount, style) {
  if (!document.getElementById("tm-agent-tasks-style")) {
    const sheet = document.createElement("style");
    sheet.id = "tm-agent-tasks-style";
    sheet.textContent = style;
    document.head.appendChild(sheet);
  }
  if (customElements.get(name)) return;
  customElements.define(name, class extends HTMLElement {
    static get observedAttributes() { return ["api-base", "session", "session-url", "api-key", "user", "refresh-seconds", "follow"]; }
    connectedCallback() { this.remount(); }
    disconnectedCallback() { if (this.handle) { this.handle.free(); this.handle = null; } }
    attributeChangedCallback() { if (this.handle) this.remount(); }
    remount() {
      if (this.handle) this.handle.free();
      const seconds = Number(this.getAttribute("refresh-seconds") ?? "60");
      this.handle = mount(this, {
        apiBase: this.getAttribute("api-base") || "",
        session: this.getAttribute("session") || "",
        sessionUrl: this.getAttribute("session-url") || "",
        apiKey: this.getAttribute("api-key") || "",
        user: this.getAttribute("user") || "",
        refreshSeconds: Number.isFinite(seconds) && seconds >= 0 ? Math.floor(seconds) : 60,
        follow: this.getAttribute("follow") !== "false",
      });
    }
    refresh() { return this.handle ? this.handle.refresh() : Promise.resolve(); }
    get tasks() { return this.handle ? this.handle.tasks() : []; }
  });
}
export function define_wallboard(name, mount, style) {
  if (!document.getElementById("tm-wallboard-style")) {
    const sheet = document.createElement("style");
    sheet.id = "tm-wallboard-style";
    sheet.textContent = style;
    document.head.appendChild(sheet);
  }
  if (customElements.get(name)) return;
  customElements.define(name, class extends HTMLElement {
    static get observedAttributes() { return ["api-base", "api-key", "session", "team"]; }
    connectedCallback() { this.remount(); }
    disconnectedCallback() { if (this.handle) { this.handle.free(); this.handle = null; } }
    attributeChangedCallback() { if (this.handle) this.remount(); }
    remount() {
      if (this.handle) this.handle.free();
      this.handle = mount(this, {
        apiBase: this.getAttribute("api-base") || "",
        apiKey: this.getAttribute("api-key") || "",
        session: this.getAttribute("session") || "",
        team: this.getAttribute("team") || "",
      });
    }
  });
}
"#)]
extern "C" {
    fn define_element(name: &str, mount: &js_sys::Function, style: &str);
    fn define_wallboard(name: &str, mount: &js_sys::Function, style: &str);
}

/// A mounted wallboard, as JS sees it. Freeing it stops it.
#[wasm_bindgen]
pub struct WallboardHandle {
    wallboard: Rc<crate::wallboard::Wallboard>,
}

impl Drop for WallboardHandle {
    fn drop(&mut self) {
        self.wallboard.unmount();
    }
}

/// Mounts a wallboard into `element` with options `{apiBase, apiKey, session, team}`.
#[wasm_bindgen(js_name = mountWallboard)]
pub fn mount_wallboard(element: HtmlElement, options: JsValue) -> Result<WallboardHandle, JsValue> {
    let options: crate::wallboard::WallboardOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| js_error(&format!("invalid options: {e}")))?;
    let transport = Rc::new(FetchTransport {
        base_url: options.api_base.clone(),
    });
    Ok(WallboardHandle {
        wallboard: crate::wallboard::Wallboard::mount(element, options, transport),
    })
}

/// Defines `<tm-wallboard>` (idempotent).
#[wasm_bindgen(js_name = defineWallboard)]
pub fn define_wallboard_element() {
    let mount_closure = Closure::<dyn FnMut(HtmlElement, JsValue) -> Result<JsValue, JsValue>>::new(
        |element: HtmlElement, options: JsValue| {
            mount_wallboard(element, options).map(JsValue::from)
        },
    );
    define_wallboard(
        "tm-wallboard",
        mount_closure.as_ref().unchecked_ref(),
        crate::wallboard::STYLE,
    );
    mount_closure.forget();
}

/// A mounted widget, as JS sees it. Freeing it (the element left the page) stops it.
#[wasm_bindgen]
pub struct WidgetHandle {
    widget: Rc<Widget>,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Reloads the tasks now.
    pub fn refresh(&self) -> js_sys::Promise {
        let widget = Rc::clone(&self.widget);
        wasm_bindgen_futures::future_to_promise(async move {
            widget.refresh().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The tasks on screen (the core's Task model, as plain JS objects).
    pub fn tasks(&self) -> Result<JsValue, JsValue> {
        let tasks: Vec<_> = self
            .widget
            .tasks()
            .into_iter()
            .map(|t| t.with_allowed_actions())
            .collect();
        serde_wasm_bindgen::to_value(&tasks).map_err(|e| js_error(&e.to_string()))
    }
}

impl Drop for WidgetHandle {
    fn drop(&mut self) {
        self.widget.unmount();
    }
}

/// Mounts a widget into `element` with options
/// `{apiBase, session, sessionUrl, apiKey, user, refreshSeconds, follow}`.
#[wasm_bindgen]
pub fn mount(element: HtmlElement, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let options: Options = serde_wasm_bindgen::from_value(options)
        .map_err(|e| js_error(&format!("invalid options: {e}")))?;
    let transport = Rc::new(FetchTransport {
        base_url: options.api_base.clone(),
    });
    Ok(WidgetHandle {
        widget: Widget::mount(element, options, transport),
    })
}

/// Defines `<tm-agent-tasks>` (idempotent).
#[wasm_bindgen(js_name = defineElement)]
pub fn define_custom_element() {
    let mount_closure = Closure::<dyn FnMut(HtmlElement, JsValue) -> Result<JsValue, JsValue>>::new(
        |element: HtmlElement, options: JsValue| mount(element, options).map(JsValue::from),
    );
    define_element(
        "tm-agent-tasks",
        mount_closure.as_ref().unchecked_ref(),
        STYLE,
    );
    // The element class calls it for as long as the page lives.
    mount_closure.forget();
}
