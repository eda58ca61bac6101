//! The widget's listeners (clicks, typing, Escape, the page becoming visible) and timers (the
//! countdown render and the fallback refresh).

use super::*;

impl Widget {
    pub(super) fn add_listener(
        self: &Rc<Self>,
        event: &str,
        on_document: bool,
        handler: fn(&Rc<Widget>, Event),
    ) {
        let weak: Weak<Widget> = Rc::downgrade(self);
        let closure = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
            if let Some(widget) = weak.upgrade() {
                handler(&widget, e);
            }
        });
        let target: Option<web_sys::EventTarget> = if on_document {
            web_sys::window().and_then(|w| w.document()).map(Into::into)
        } else {
            Some(self.root.clone().into())
        };
        if let Some(target) = target {
            let _ =
                target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
        self.listeners
            .borrow_mut()
            .push((event.to_string(), closure, on_document));
    }

    pub(super) fn listen(self: &Rc<Self>) {
        self.add_listener("click", false, |widget, event| {
            let choice = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|e| e.closest("button[data-availability]").ok().flatten())
                .and_then(|b| b.get_attribute("data-availability"))
                .and_then(|name| availability::choice_named(&name));
            if let Some(choice) = choice {
                let widget = Rc::clone(widget);
                wasm_bindgen_futures::spawn_local(
                    async move { widget.set_availability(choice).await },
                );
                return;
            }
            let Some(button) = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|e| e.closest("button[data-action]").ok().flatten())
            else {
                return;
            };
            let task = button
                .get_attribute("data-task")
                .and_then(|t| TaskId::parse(&t));
            let action = button
                .get_attribute("data-action")
                .and_then(|a| action_by_name(&a));
            if let (Some(task), Some(action)) = (task, action) {
                let widget = Rc::clone(widget);
                wasm_bindgen_futures::spawn_local(
                    async move { widget.perform(task, action).await },
                );
            }
        });
        self.add_listener("input", false, |widget, event| {
            let Some(input) = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(task) = input
                .get_attribute("data-task")
                .and_then(|t| TaskId::parse(&t))
            {
                widget
                    .state
                    .borrow_mut()
                    .targets
                    .insert(task, input.value());
            }
        });
        self.add_listener("keydown", false, |widget, event| {
            let Some(key) = event.dyn_ref::<KeyboardEvent>().map(KeyboardEvent::key) else {
                return;
            };
            if key == "Escape" && widget.state.borrow().message.is_some() {
                widget.state.borrow_mut().message = None;
                widget.render();
            }
        });
        self.add_listener("visibilitychange", true, |widget, _| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| !d.hidden());
            if visible {
                let widget = Rc::clone(widget);
                wasm_bindgen_futures::spawn_local(async move { widget.refresh().await });
            }
        });
    }

    /// Renders every second while something on screen counts down (an offer's time to accept,
    /// the time left of WrapUp or NotResponding); a render changes only what differs.
    pub(super) fn start_countdown(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(widget) = weak.upgrade() {
                let counting = {
                    let state = widget.state.borrow();
                    let ringing = state.tasks.iter().any(|t| t.ringing_until.is_some());
                    availability::counts_down(state.availability.as_ref(), ringing)
                };
                if counting {
                    widget.render();
                }
            }
        });
        if let Some(window) = web_sys::window() {
            if let Ok(id) = window.set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                1000,
            ) {
                *self.countdown.borrow_mut() = Some((id, tick));
            }
        }
    }

    pub(super) fn start_interval(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(widget) = weak.upgrade() {
                if widget.state.borrow().busy.is_none() {
                    wasm_bindgen_futures::spawn_local(async move { widget.refresh().await });
                }
            }
        });
        let millis =
            i32::try_from(self.options.refresh_seconds.saturating_mul(1000)).unwrap_or(i32::MAX);
        if let Some(window) = web_sys::window() {
            if let Ok(id) = window.set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                millis,
            ) {
                *self.interval.borrow_mut() = Some((id, tick));
            }
        }
    }
}
