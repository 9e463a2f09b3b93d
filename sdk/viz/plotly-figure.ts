// A Plotly figure as plain data (what plotly.js's newPlot takes): the one type the figure builders, the SVG
// preview and the mime bundle share.

export interface PlotlyFigure {
  data: object[];
  layout: object;
}
