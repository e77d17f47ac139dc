// Run in a page (the phone page, the wall display) by the browser tests: what is not translated.
// ``used``: the keys the page's scripts ask for (t("…")), found in their source by the test.
(used) => {
        used = Array.isArray(used) ? used : [];  // (Playwright passes null when given nothing)
        const out = [];
        for (const lang of Object.keys(TEXT)) {
          for (const key of Object.keys(TEXT.en)) {
            if (!TEXT[lang][key]) out.push(`${lang}: no ${key}`);
            else if (lang !== "en" && TEXT[lang][key] === TEXT.en[key]
                     && !SAME_AS_ENGLISH_OK.has(key)) out.push(`${lang}: ${key} is English`);
          }
          for (const key of Object.keys(TEXT[lang])) {
            if (!(key in TEXT.en)) out.push(`${lang}: ${key} is not in English`);
          }
        }
        for (const key of used) {
          if (!(key in TEXT.en)) out.push(`the script asks for ${key}, which has no text`);
        }
        for (const [attr, name] of [["i18n", "data-i18n"], ["i18nAria", "data-i18n-aria"],
                                    ["i18nPlaceholder", "data-i18n-placeholder"]]) {
          for (const el of document.querySelectorAll(`[${name}]`)) {
            if (!(el.dataset[attr] in TEXT.en)) out.push(`${name}="${el.dataset[attr]}" has no text`);
          }
        }
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = node.textContent.trim();
          // (live regions, piece names and the like are filled by the scripts: already in the language,
          // or names, marked translate="no")
          if (!text || node.parentElement.closest("select, script, [data-i18n], [aria-live], [translate=no]")) continue;
          if (/^[\p{Emoji}\s]+$/u.test(text)) continue;
          out.push(`no key for text: ${text}`);
        }
        for (const el of document.querySelectorAll("[aria-label]")) {
          if (!el.dataset.i18nAria) out.push(`no key for aria-label ${el.getAttribute("aria-label")}`);
        }
        for (const el of document.querySelectorAll("[placeholder]")) {
          if (!el.dataset.i18nPlaceholder && el.placeholder !== "••••••") out.push(`no key for placeholder ${el.placeholder}`);
        }
        for (const el of document.querySelectorAll("[title]:not(title)")) {
          out.push(`a title attribute has no key: ${el.getAttribute("title")}`);
        }
        return out;
      }
