//! The HTML page around the report: inline CSS, no script, no font, no
//! link; a Content-Security-Policy that forbids loading anything makes
//! "opens with no network" a property of the page, not only of its text.

use super::doc::esc;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d1d1f;margin:0;background:#f6f7f9}\
main{max-width:980px;margin:0 auto;padding:24px 28px 60px;background:#fff}\
h1{font-size:24px;margin:8px 0 12px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
h3{font-size:15px;margin:18px 0 6px}\
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}\
th,td{border:1px solid #d8d8d8;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f0f2f5}td.breach{color:#b00020;font-weight:600}\
figure{margin:10px 0}svg{max-width:100%;height:auto}\
p.blank{color:#777;min-height:3em;border:1px dashed #ccc;padding:8px}\
@media print{body{background:#fff}main{padding:0}}";

pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}
