//! The equity curves of a sweep as one SVG (`plotters`, SVG backend only: no fonts or bitmaps
//! are linked, so the chart carries no text; the legend is the CSV written beside it, in the
//! same order as the colours cycle).

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use tradeengine_engine::replay_sweep::SetSummary;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws each set's equity against time (minutes from the first cycle).
pub fn equity_svg(path: &Path, sets: &[SetSummary]) -> anyhow::Result<()> {
    let curves: Vec<Vec<(f64, f64)>> = sets
        .iter()
        .map(|s| {
            let t0 = s.equity.first().map(|(t, _)| *t);
            s.equity
                .iter()
                .filter_map(|(t, e)| {
                    let minutes = (*t - t0?).num_seconds() as f64 / 60.0;
                    Some((minutes, e.to_f64()?))
                })
                .collect()
        })
        .collect();
    let points = curves.iter().flatten();
    let (mut x_max, mut y_min, mut y_max) = (1.0_f64, f64::MAX, f64::MIN);
    for (x, y) in points {
        x_max = x_max.max(*x);
        y_min = y_min.min(*y);
        y_max = y_max.max(*y);
    }
    if y_min > y_max {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1.0);
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    let draw =
        |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("cannot draw {}: {e:?}", path.display());
    root.fill(&WHITE).map_err(draw)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))
        .map_err(draw)?;
    chart
        .configure_mesh()
        .x_labels(0)
        .y_labels(0)
        .draw()
        .map_err(draw)?;
    for (k, curve) in curves.into_iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(curve, colour.stroke_width(2)))
            .map_err(draw)?;
    }
    root.present()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
