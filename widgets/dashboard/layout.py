"""The dashboard's look: its CSS and the arrangement of controls and views.

A header (▶, step, reset, the epoch, the learning rate, the optimiser, the activation and the
status line), then three columns: Data, Model (with the gradient-norm bars) and Output (the
decision boundary first, then the losses and the list of runs), and a footer with "show code".
"""
import html

import ipywidgets as W

from .controls import labelled
from .data import Dataset

CSS = """
<style>
.fl-dash { font-family: "Helvetica Neue", Helvetica, Arial, "DejaVu Sans", sans-serif; color: #333;
  background: #fff; border: 1px solid #dcdcdc; border-radius: 8px; overflow: hidden; }
.fl-dash .fl-title { font-size: 15px; font-weight: 600; color: #183d4e; padding: 8px 16px 0 16px; }
.fl-dash .fl-title span { font-weight: 400; color: #888; font-size: 12px; margin-left: 8px; }
.fl-dash .fl-header { background: #f3f5f7; border-bottom: 1px solid #e2e5e8;
  padding: 10px 16px 6px 16px; }
.fl-dash .fl-header-row { align-items: flex-end; }
.fl-dash .fl-label { font-size: 10.5px; text-transform: uppercase; letter-spacing: .06em;
  color: #7a8088; margin: 0 0 3px 2px; line-height: 14px; white-space: nowrap; }
.fl-dash .fl-field { margin-right: 14px; }
.fl-dash .fl-col .fl-field { margin-right: 0; }
.fl-dash .fl-col { padding: 10px 14px; border-right: 1px solid #eceef0; }
.fl-dash .fl-col:last-child { border-right: none; }
.fl-dash .fl-colhead { font-size: 12px; font-weight: 700; letter-spacing: .08em; color: #183d4e;
  text-transform: uppercase; margin-bottom: 6px; }
.fl-dash button.fl-start { width: 48px; height: 48px; border-radius: 50%; background: #183d4e;
  color: #fff; font-size: 19px; padding: 0; border: none; box-shadow: 0 1px 3px rgba(0,0,0,.3); }
.fl-dash button.fl-start.fl-running { background: #c0392b; }
.fl-dash button.fl-small { height: 30px; border-radius: 15px; background: #fff; color: #183d4e;
  border: 1px solid #b8c2cc; font-size: 12.5px; padding: 0 12px; margin-left: 6px; }
.fl-dash .fl-epoch { font-size: 26px; font-weight: 300; color: #222; line-height: 30px;
  font-variant-numeric: tabular-nums; }
.fl-dash .fl-epoch small { font-size: 11px; color: #7a8088; text-transform: uppercase;
  letter-spacing: .06em; display: block; line-height: 13px; }
.fl-dash .fl-losses { font-size: 13px; line-height: 20px; font-variant-numeric: tabular-nums; }
.fl-dash .fl-losses b { font-weight: 600; }
.fl-dash .fl-status { margin-top: 8px; padding: 4px 10px; border: 1px solid #e2e5e8;
  border-radius: 4px; font-size: 13px; background: #fafbfc; min-height: 20px; }
.fl-dash .fl-status .fl-status-text { flex: 1 1 auto; min-width: 0; }
.fl-dash .fl-status .widget-html-content { white-space: normal; line-height: 18px; }
.fl-dash .fl-col { min-width: 0; }
.fl-dash .fl-status .fl-info { color: #44525e; }
.fl-dash .fl-status .fl-warn { color: #9a5b00; font-weight: 600; }
.fl-dash .fl-status .fl-error { color: #b3261e; font-weight: 600; }
.fl-dash .fl-model pre, .fl-dash .fl-code pre { font-size: 11px; line-height: 14px; margin: 4px 0;
  background: #f6f8fa; border: 1px solid #e6e8eb; border-radius: 4px; padding: 6px 8px;
  white-space: pre; overflow-x: auto;
  font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace; }
.fl-dash .fl-code pre { font-size: 12px; line-height: 16px; max-height: 420px; }
.fl-dash .fl-note { font-size: 11.5px; color: #7a8088; }
.fl-dash .fl-runs { font-size: 11.5px; line-height: 16px; margin: 0 0 6px 6px; }
.fl-dash .fl-footer { padding: 6px 16px 10px 16px; }
.fl-dash .widget-slider .widget-readout { font-size: 12px; }
.fl-dash .widget-dropdown select { font-size: 12.5px; }
.fl-dash .fl-width .widget-label { font-size: 11.5px; color: #555; }
.fl-dash button.fl-feature { font-size: 12px; margin: 0 4px 4px 0; border-radius: 4px; }
.fl-dash button.fl-feature.mod-active { background: #183d4e; color: #fff; }
.fl-dash .fl-show-test, .fl-dash .fl-discretize { font-size: 12px; }
</style>
"""


def build_layout(dash):
    """The dashboard's whole ipywidgets box, from its controls and views."""
    # The dashboard fits the notebook's cell area (up to 1080 px): the Output column and
    # its pictures shrink; the status line sits in the header, right under the buttons.
    row = W.HBox([
        W.HBox([dash.start_button, dash.step_button, dash.reset_button],
               layout=W.Layout(align_items="center", margin="0 18px 0 0")),
        W.Box([dash.epoch_label], layout=W.Layout(width="110px", margin="0 14px 0 0")),
        labelled("learning rate", dash.lr),
        labelled("optimizer", dash.optimizer),
        labelled("activation", dash.activation) if dash._uses_activation else W.HTML(),
    ], layout=W.Layout(flex_flow="row wrap"))
    row.add_class("fl-header-row")
    status = W.Box([dash.status_label])
    status.add_class("fl-status")
    head = W.VBox([row, status])
    head.add_class("fl-header")
    user_data = dash.trainer.user_data
    data_controls = []
    if user_data is None:
        data_controls.append(labelled("which data set?", dash.dataset))
        data_controls.append(labelled("features", dash.features))
    if not isinstance(user_data, Dataset):
        data_controls += [labelled("noise", dash.noise), labelled("training data", dash.split)]
    data_controls.append(labelled("batch size", dash.batchsize))
    data_controls.append(labelled("seed", dash.seed))
    data_controls.append(W.HTML(
        "<div class='fl-note' style='margin-top:6px;line-height:15px'>The seed fixes the "
        "data, the initial weights and the shuffling, so a run can be repeated exactly.</div>"))
    data_col = W.VBox([W.HTML("<div class='fl-colhead'>Data</div>")] + data_controls,
                      layout=W.Layout(flex="0 0 230px", width="230px"))
    model_parts = [W.HTML("<div class='fl-colhead'>Model</div>")]
    if dash._uses_hidden:
        model_parts.append(dash.hidden)
    model_parts.append(labelled("network", W.VBox([dash.network_plot.widget,
                                                   dash.screen.network_view.note])))
    reg = W.HBox([labelled("regularization", dash.regularization),
                   labelled("regularization rate", dash.reg_rate)],
                  layout=W.Layout(flex_flow="row wrap", grid_gap="0 12px"))
    model_parts += [dash.model_label, reg,
                    labelled("gradient modifier", dash.modifier),
                    dash.panel.hyper_box,
                    labelled("gradient norm per layer (last step)", dash.grad_plot.widget)]
    model_col = W.VBox(model_parts, layout=W.Layout(flex="0 0 350px", width="350px"))
    # the decision boundary first, as high on the page as it can be
    output_col = W.VBox([W.HTML("<div class='fl-colhead'>Output</div>"),
                         dash.output_plot.widget,
                         W.HBox([dash.show_test, dash.discretize],
                                layout=W.Layout(flex_flow="row wrap", grid_gap="0 16px")),
                         dash.loss_label, dash.loss_plot.widget,
                         dash.runs_box],
                        layout=W.Layout(flex="1 1 490px", min_width="240px"))
    for p in (dash.output_plot, dash.loss_plot, dash.grad_plot, dash.network_plot):
        p.widget.layout.max_width = "100%"
        p.widget.layout.height = "auto"
    for c in (data_col, model_col, output_col):
        c.add_class("fl-col")
    body = W.HBox([data_col, model_col, output_col])
    footer = W.VBox([W.HBox([dash.code_button, dash.clear_button]), dash.code_view])
    footer.add_class("fl-footer")
    title = W.HTML(f"<div class='fl-title'>{html.escape(dash.title)}"
                   f"<span>fluxlite · train a network, watch it learn</span></div>")
    box = W.VBox([W.HTML(CSS), title, head, body, footer],
                 layout=W.Layout(width="100%", max_width="1080px"))
    box.add_class("fl-dash")
    return box


def close_tree(widget):
    """Close a widget and, for a box, every widget inside it."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()
