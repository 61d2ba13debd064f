//! The web client as the browser meets it: `/` and deep links answer the app's index.html,
//! assets come with their content type and a long cache, missing files are 404.

use crate::support::{Backend, Platform};
use reqwest::header;

/// The path of the first `assets/...` file with this extension that index.html references.
fn asset(index: &str, extension: &str) -> String {
    index
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(extension))
        .unwrap_or_else(|| panic!("index.html names no {extension} asset: {index}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_served_at_every_page_path_with_its_assets() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let client = app.client();

    let root = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(
        root.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(root.headers()[header::CACHE_CONTROL], "no-cache");
    let index = root.text().await.unwrap();
    assert!(index.contains(r#"<div id="root"></div>"#), "{index}");

    // Deep links (what emails link to) get the same page; the app routes in the browser.
    for path in ["/tickets/1", "/tickets", "/no/such/page"] {
        let page = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert_eq!(page.text().await.unwrap(), index, "{path}");
    }

    for (extension, content_type) in [(".js", "text/javascript"), (".css", "text/css")] {
        let path = asset(&index, extension);
        let file = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), 200, "{path}");
        assert_eq!(file.headers()[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(
            file.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let etag = file.headers()[header::ETAG].clone();
        assert!(!file.bytes().await.unwrap().is_empty());
        // A browser revalidating what it has gets 304 and no body.
        let again = client
            .get(format!("{}{path}", app.url))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }

    // The icon browsers ask for on every page is in the bundle.
    let icon = client
        .get(format!("{}/favicon.ico", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()[header::CONTENT_TYPE], "image/x-icon");

    // A file that is not in the bundle is not answered with the app's HTML, and GraphiQL's
    // page is only at /graphiql, which checks who asks.
    for path in [
        "/assets/index-gone.js",
        "/robots.txt",
        "/.source-hash",
        "/graphiql.html",
    ] {
        let missing = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404, "{path}");
    }
    app.cleanup().await;
}
